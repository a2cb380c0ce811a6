"""Exact threshold-KNN Shapley values for regression: the mean of the targets within a radius.

Wang, J. T., Zhu, Y., Wang, Y.-X., Jia, R. and Mittal, P. (2023). "Threshold KNN-Shapley: A
Linear-Time and Privacy-Friendly Approach to Data Valuation". NeurIPS. (The classification
utility; this module derives the regression form, without the K cap.)

Utility
-------
For an evaluation point with target ``t``, the neighbours are the rows within Euclidean distance
``tau``; call ``B`` that ball (``n = |B|``) and ``c = |S cap B|``. The prediction is the mean of the
neighbours' targets, and 0 (the evaluation mean, targets being standardized) with no neighbour:

    U(S) = -( sum_{j in S cap B} y_j / c - t )^2   (c >= 1),      U(S) = -t^2   (c = 0).

Derivation
----------
Rows outside ``B`` are null players. Expanding the square for ``c >= 1``,

    U(S) + t^2 = sum_{j in S cap B} y_j g1(c) + sum_j y_j^2 g2(c) + sum_{{j, l} in S cap B} y_j y_l g3(c),
    g1(c) = 2 t / c,   g2(c) = -1 / c^2,   g3(c) = -2 / c^2,

and each term vanishes at ``c = 0``. For a game ``G(S) = sum_{j in S} v_j g(|S|)`` on the ``n``
rows of ``B``, row ``i`` joins a uniformly random order after ``m`` others (``m`` uniform on
``0..n-1``, a uniform ``m``-subset ``P``), and its marginal is
``v_i g(m+1) + sum_{j in P} v_j (g(m+1) - g(m))`` with ``E sum_{j in P} v_j = m/(n-1) V_{-i}``:

    phi_i = v_i alpha[g] + V_{-i} beta[g],
    alpha[g] = (1/n) sum_{m=0}^{n-1} g(m+1),
    beta[g]  = (1/n) sum_{m=1}^{n-1} m / (n-1) (g(m+1) - g(m)).

For the pair game ``G(S) = sum_{pairs in S} q_{jl} g(|S|)`` the marginal is
``sum_{j in P} q_{ij} g(m+1) + sum_{pairs in P} q (g(m+1) - g(m))``, a pair of others lying in ``P``
with probability ``m (m-1) / ((n-1)(n-2))``:

    phi_i = Q_i alpha'[g] + Q_{-i} beta'[g],
    alpha'[g] = (1/n) sum_{m=1}^{n-1} m / (n-1) g(m+1),
    beta'[g]  = (1/n) sum_{m=2}^{n-1} m (m-1) / ((n-1)(n-2)) (g(m+1) - g(m)),

with ``Q_i = y_i (Y - y_i)`` and ``Q_{-i} = ((Y - y_i)^2 - (Y2 - y_i^2)) / 2`` (``Y``, ``Y2``: the
sums of ``y`` and ``y^2`` over ``B``). So, per evaluation point,

    s_i = 1[i in B] ( y_i alpha[g1] + (Y - y_i) beta[g1] + y_i^2 alpha[g2] + (Y2 - y_i^2) beta[g2]
                      + Q_i alpha'[g3] + Q_{-i} beta'[g3] ),

where the six weights depend only on ``n`` (and ``t`` for ``g1``): prefix sums over ``m`` computed
once for every ``n`` up to N. No sort is needed, O(N) per evaluation point. The value is a quadratic
in the row's own target with ``b = alpha[g1] + (Y - y_i) alpha'[g3]`` and ``c = alpha[g2]``
(``Y - y_i`` and ``Y2 - y_i^2`` are the other rows' sums, so the other terms do not move with ``y_i``), which the target-noise test
uses as for :mod:`.knn_regression_shapley`. ``tests/attribution/test_regression.py`` checks the values
and the quadratic against brute-force Shapley.

With a K cap (only the K nearest of the ball vote) the prediction also depends on the order inside
the ball, and the closed form needs one more count, as in Wang et al.; it is not implemented.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.base import ProgressCallback, Valuation
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.kernel import ChunkKernel, sum_over_eval_chunks
from openledger_chain.attribution.utility import squared_distances

__all__ = ["TKNNRegressionShapley", "tknn_regression_weights", "tknn_regression_shapley_values"]


@lru_cache(maxsize=4)
def tknn_regression_weights(n_max: int) -> NDArray[np.float64]:
    """(6, n_max + 1): for each ball size n, ``alpha[1/c], beta[1/c], alpha[g2], beta[g2],
    alpha'[g3], beta'[g3]`` (``g1 = 2 t / c`` is ``2 t`` times the first two). Column 0 is 0."""
    n = np.arange(n_max + 1, dtype=np.float64)
    m = np.arange(1, n_max + 1, dtype=np.float64)  # m = 1..n_max
    inv, inv2 = 1.0 / m, 1.0 / (m * m)
    # Terms indexed by m (m >= 1), then cumulated: S[n] = sum_{m=1}^{n-1} term(m).
    step1 = m * (1.0 / (m + 1) - inv)
    step2 = m * (-1.0 / (m + 1) ** 2 + inv2)
    step3 = m * (-2.0 / (m + 1) ** 2)
    step4 = m * (m - 1) * (-2.0 / (m + 1) ** 2 + 2.0 * inv2)

    def below(term: NDArray[np.float64]) -> NDArray[np.float64]:
        out = np.zeros(n_max + 1)
        out[2:] = np.cumsum(term[: n_max - 1])
        return out

    harmonic = np.concatenate([[0.0], np.cumsum(inv)])  # H_n
    harmonic2 = np.concatenate([[0.0], np.cumsum(inv2)])
    safe = np.maximum(n, 1.0)
    n1, n2 = np.maximum(n - 1, 1.0), np.maximum(n - 2, 1.0)
    w = np.zeros((6, n_max + 1))
    w[0] = harmonic / safe
    w[1] = below(step1) / (safe * n1)
    w[2] = -harmonic2 / safe
    w[3] = below(step2) / (safe * n1)
    w[4] = below(step3) / (safe * n1)
    w[5] = below(step4) / (safe * n1 * n2)
    w[:, 0] = 0.0
    w.setflags(write=False)
    return w


def _chunk_values(
    x_train: NDArray[np.float64],
    y_train: NDArray[np.float64],
    x_eval: NDArray[np.float64],
    t_eval: NDArray[np.float64],
    tau: float,
    *,
    train_norms: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """(3, N): summed over the given evaluation points, values and the coefficients ``b``, ``c``."""
    n_train = len(y_train)
    inside = squared_distances(x_eval, x_train, train_norms) <= tau * tau
    ball = inside.astype(np.float64)
    n = inside.sum(axis=1)
    y = y_train[None, :]
    total = ball @ y_train
    total2 = ball @ (y_train * y_train)
    w = tknn_regression_weights(n_train)[:, n]  # (6, points)
    t2 = 2.0 * t_eval
    a1, b1, a2, b2, a3, b3 = (w[j][:, None] for j in range(6))
    rest = total[:, None] - y
    rest2 = total2[:, None] - y * y
    values = (t2[:, None] * (y * a1 + rest * b1) + y * y * a2 + rest2 * b2 + y * rest * a3
              + 0.5 * (rest * rest - rest2) * b3) * ball
    slope = (t2[:, None] * a1 + rest * a3) * ball
    curve = a2 * ball
    return np.vstack([values.sum(axis=0), slope.sum(axis=0), curve.sum(axis=0)])


def tknn_regression_shapley_values(
    train: Dataset,
    eval_data: Dataset,
    tau: float | None,
    *,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
) -> NDArray[np.float64]:
    """Exact threshold-KNN regression Shapley values and target slopes, averaged over evaluation points.

    Args:
        train: Training rows with float targets.
        eval_data: Evaluation rows with float targets.
        tau: Radius (> 0); None: no radius (every row is a neighbour, the prediction is the mean of S).
        n_jobs: Worker threads.
        progress: Optional ``progress(done, total)`` callback.

    Returns:
        (3, N): values, then ``b`` and ``c`` of each row's value as a quadratic in its own target.

    Raises:
        ValueError: ``tau <= 0``.
    """
    if tau is not None and not tau > 0:
        raise ValueError("tau must be > 0 or None")
    targets = Dataset(train.x, train.y.astype(np.float64))
    eval_targets = Dataset(eval_data.x, eval_data.y.astype(np.float64))
    chunk = ChunkKernel(_chunk_values, targets, eval_targets, (np.inf if tau is None else float(tau),))
    out = sum_over_eval_chunks(len(train), len(eval_data), chunk, n_jobs=n_jobs, progress=progress)
    return np.asarray(out).reshape(3, len(train))


class TKNNRegressionShapley(Valuation):
    """Exact Shapley values of the threshold-KNN regressor's negative squared error.

    Args:
        eval_data: Evaluation rows with float targets.
        tau: Radius (None: no radius).
        n_jobs: Worker threads.
        progress: Optional progress callback.
    """

    algorithm_name = "tknn_shapley"

    def __init__(
        self, eval_data: Dataset, tau: float | None, *, n_jobs: int | None = None, progress: ProgressCallback | None = None
    ) -> None:
        super().__init__(progress)
        self.eval_data = eval_data
        self.tau = tau
        self.n_jobs = n_jobs

    def params(self) -> dict[str, Any]:
        return {"tau": self.tau, "k": None, "task": "regression"}

    def fit(self, data: Dataset) -> TKNNRegressionShapley:
        stacked = tknn_regression_shapley_values(data, self.eval_data, self.tau, n_jobs=self.n_jobs, progress=self._progress)
        values = stacked[0]
        t = self.eval_data.y.astype(np.float64)
        none = -float(np.mean(t * t)) if len(t) else 0.0
        self._result = self._make_result(
            data, values, utility_all=none + float(values.sum()), utility_none=none, relabel_values=stacked[1:].T.copy()
        )
        return self

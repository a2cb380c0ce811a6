"""Exact KNN-Shapley values for regression (Jia et al., 2019), vectorized over evaluation points.

Jia, R., Dao, D., Wang, B., Hubis, F. A., Gurel, N. M., Li, B., Zhang, C., Spanos, C. J. and
Song, D. (2019). "Efficient Task-Specific Data Valuation for Nearest Neighbor Algorithms".
PVLDB 12(11), 1610-1623, Section 4 ("unweighted KNN regression").

Utility
-------
For one evaluation point with target ``t``, sort the N training rows by distance (ties by row
index, as in :mod:`.knn_shapley`) and write ``y_1, ..., y_N`` for their targets, nearest first
(ranks are 1-based). The unweighted KNN regressor predicts ``(1/K) sum`` of the targets of the
``min(K, |S|)`` nearest rows of ``S`` (the empty set predicts 0), and the utility is the negative
squared error, as in Jia et al.:

    U(S) = -( (1/K) sum_{j in top_K(S)} y_j - t )^2.

The engine standardizes targets with the evaluation set's mean and standard deviation, so
predicting 0 is predicting the evaluation mean and ``U(empty) = -t^2`` averages to -1.

Derivation
----------
Expanding the square splits ``U`` into games whose Shapley values are known in closed form:

    U(S) = -t^2 + sum_{j in top_K(S)} w_j + sum_{{j, l} in top_K(S)} p_{jl},
    w_j = 2 t y_j / K - y_j^2 / K^2,        p_{jl} = -2 y_j y_l / K^2     (unordered pairs).

The constant is ``U(empty)`` and gets no value; Shapley values are linear, so each remaining
term is valued on its own and the values are added.

*Single terms.* Row ``l`` is in ``top_K(S)`` iff ``l`` is in ``S`` and fewer than ``K`` rows of
``S`` are nearer. In a uniformly random order of the rows ``1..l`` (the farther rows are null
players of this term), the number of nearer rows that arrive before ``l`` is uniform on
``0..l-1``, so ``l`` earns ``w_l * min(K, l) / l``; the term's total is ``w_l * 1[l <= K]``
(efficiency), and the ``l - 1`` nearer rows are symmetric, so each of them earns
``w_l * (1[l <= K] - min(K, l)/l) / (l - 1) = -w_l * D_l`` with ``D_l = K 1[l > K] / (l (l - 1))``.

*Pair terms.* For ranks ``j < l`` the pair is in ``top_K(S)`` iff ``j, l`` are in ``S`` and at
most ``K - 2`` of the other ``l - 2`` nearer rows ``C`` are (``j`` itself is one of the nearer
rows of ``l``). In a random order of the ``l`` relevant rows, ``j`` completes the pair when ``l``
is already there and at most ``K - 2`` rows of ``C`` are: with ``r`` the number of the other
``l - 1`` rows before ``j`` (uniform on ``0..l-1``) and ``l`` among them with probability
``r / (l - 1)``,

    A_l = P(j completes the pair) = sum_{r=1}^{R} r / (l (l - 1)) = R (R + 1) / (2 l (l - 1)),
    R = min(K - 1, l - 1),

the same for ``l`` (swap the roles). The pair's total is ``p_{jl} 1[l <= K]``, so each row of
``C`` earns ``p_{jl} B_l`` with ``B_l = (1[l <= K] - 2 A_l) / (l - 2)`` (``l >= 3``; ``B_l = 0``
for ``l <= K``, where ``A_l = 1/2``). Row ``i`` is the near end of the pairs ``(i, l > i)``, the
far end of the pairs ``(j < i, i)`` and in ``C`` of every pair ``(j, l)`` with ``l > i``,
``j != i``. With ``P_l = y_1 + ... + y_l``:

    s_i = w_i min(K, i) / i - sum_{l > i} w_l D_l
          - (2 / K^2) [ y_i sum_{l > i} A_l y_l + A_i y_i P_{i-1}
                        + sum_{l > i} B_l y_l P_{l-1} - y_i sum_{l > i} B_l y_l ].

Every sum is a prefix or suffix sum over ranks, so after the sort a point costs O(N): O(N log N)
per evaluation point, the sort dominating. Equivalently, as a recursion from the farthest row in
(the form Jia et al. give), ``s_i - s_{i+1}`` is a difference of the two rows' own terms; the
closed form above is what is computed. The values of a set of evaluation points are the mean
over them, and sum to ``U(all) - U(empty)``. No integer arithmetic is needed; the float result is
deterministic because every sum runs in a fixed order (:func:`..kernel.sum_over_eval_chunks`).
``tests/attribution/test_regression.py`` checks it against brute-force Shapley over every subset.

Row ``i``'s value is a quadratic in its own target with every other row fixed,
``s_i(y) = a_i + b_i y + c_i y^2`` (``c_i = -min(K, i) / (K^2 i)``; the pair terms are linear in
``y_i``, the terms of other rows do not involve it), so the target-noise test (:mod:`..noise`)
gets the exact null moments from ``b`` and ``c`` at no extra sort.

Threshold variant
-----------------
With a radius ``tau`` and the prediction the *mean* of the targets within ``tau`` (as
:mod:`.tknn_shapley` does for labels), ``U(S) = -(sum_{B cap S} y / |B cap S| - t)^2`` depends on
``S`` through the count ``c = |B cap S|`` of in-radius rows and sums of ``y`` and ``y^2`` over
them; the rows of the ball ``B`` are exchangeable up to their targets, so each term
``y_j g(c)`` and ``y_j y_l g(c)`` has a Shapley value that is a sum over ``c`` of a closed-form
weight, O(|B|) per point after the sort. A closed form therefore exists (with a K cap it needs
one more count, as in Wang et al., 2023), but it is not implemented here: ``task: "regression"``
accepts ``knn_shapley`` only, and the spec rejects ``tknn_shapley`` with that task.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.base import ProgressCallback, Valuation
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.kernel import ChunkKernel, sum_over_eval_chunks
from openledger_chain.attribution.methods.knn_shapley import distance_order, scatter_sum
from openledger_chain.attribution.utility import squared_distances

__all__ = ["KNNRegressionShapley", "knn_regression_shapley_values"]


def _suffix(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Exclusive suffix sums along axis 1: ``out[:, i] = a[:, i+1:].sum()``, added from the far end."""
    out = np.zeros_like(a)
    out[:, :-1] = np.cumsum(a[:, :0:-1], axis=1)[:, ::-1]
    return out


def _prefix(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Exclusive prefix sums along axis 1: ``out[:, i] = a[:, :i].sum()``."""
    out = np.zeros_like(a)
    out[:, 1:] = np.cumsum(a[:, :-1], axis=1)
    return out


def rank_weights(n: int, k: int) -> tuple[NDArray[np.float64], ...]:
    """``(min(K, i)/i, D_i, A_i, B_i)`` for ranks ``i = 1..n`` (the module docstring's weights)."""
    rank = np.arange(1, n + 1, dtype=np.float64)
    own = np.minimum(k, rank) / rank
    prev = np.maximum(rank - 1, 1.0)
    d = np.where(rank > k, k / (rank * prev), 0.0)
    r = np.minimum(k - 1, rank - 1)
    a = np.where(rank >= 2, r * (r + 1) / (2 * rank * prev), 0.0)
    b = np.where(rank >= 3, ((rank <= k) - 2 * a) / np.maximum(rank - 2, 1.0), 0.0)
    return own, d, a, b


def _chunk_values(
    x_train: NDArray[np.float64],
    y_train: NDArray[np.float64],
    x_eval: NDArray[np.float64],
    t_eval: NDArray[np.float64],
    k: int,
    *,
    train_norms: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """(3, N): summed over the given evaluation points, each row's value and the coefficients
    ``b``, ``c`` of its value as a quadratic in its own target."""
    n = len(y_train)
    order = distance_order(squared_distances(x_eval, x_train, train_norms))
    y = y_train[order]
    t = t_eval[:, None]
    own, d, a, b = rank_weights(n, k)
    w = 2.0 * t * y / k - y * y / (k * k)
    gamma = -2.0 / (k * k)
    prefix = _prefix(y)
    sum_a = _suffix(a * y)
    sum_b = _suffix(b * y)
    values = w * own - _suffix(w * d) + gamma * (y * sum_a + a * y * prefix + _suffix(b * y * prefix) - y * sum_b)
    # The C-terms do not move with y_i: P_{l-1} holds y_i and cancels the - y_i sum_b term.
    slope = 2.0 * t * own / k + gamma * (sum_a + a * prefix)
    curve = np.broadcast_to(-own / (k * k), y.shape)
    return np.vstack([scatter_sum(order, values, n), scatter_sum(order, slope, n), scatter_sum(order, curve, n)])


def knn_regression_shapley_values(
    train: Dataset,
    eval_data: Dataset,
    k: int = 5,
    *,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
) -> NDArray[np.float64]:
    """Exact KNN-regression Shapley values and target slopes, averaged over the evaluation points.

    Args:
        train: Training rows; ``y`` holds float targets.
        eval_data: Evaluation rows; ``y`` holds float targets.
        k: Number of neighbours K (>= 1).
        n_jobs: Worker threads (default: CPU count, at most 4).
        progress: Optional ``progress(done, total)`` callback over evaluation points.

    Returns:
        (3, N) float64: the values, then ``b`` and ``c`` of each row's value
        ``a + b y + c y^2`` as a function of its own target ``y``.

    Raises:
        ValueError: ``k < 1``.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    targets = Dataset(train.x, train.y.astype(np.float64))
    eval_targets = Dataset(eval_data.x, eval_data.y.astype(np.float64))
    chunk = ChunkKernel(_chunk_values, targets, eval_targets, (k,))
    out = sum_over_eval_chunks(len(train), len(eval_data), chunk, n_jobs=n_jobs, progress=progress)
    return np.asarray(out).reshape(3, len(train))


class KNNRegressionShapley(Valuation):
    """Exact Shapley values of the KNN regressor's negative squared error (Jia et al., 2019).

    ``result.relabel_values`` is the (N, 2) array of ``(b, c)``: row i's value with target ``y``
    and every other row unchanged is ``value_i + b_i (y - y_i) + c_i (y^2 - y_i^2)``.

    Args:
        eval_data: Evaluation rows with float targets.
        k: Number of neighbours.
        n_jobs: Worker threads.
        progress: Optional progress callback.
    """

    algorithm_name = "knn_shapley"

    def __init__(
        self, eval_data: Dataset, k: int = 5, *, n_jobs: int | None = None, progress: ProgressCallback | None = None
    ) -> None:
        super().__init__(progress)
        self.eval_data = eval_data
        self.k = k
        self.n_jobs = n_jobs

    def params(self) -> dict[str, Any]:
        return {"k": self.k, "task": "regression"}

    def fit(self, data: Dataset) -> KNNRegressionShapley:
        stacked = knn_regression_shapley_values(data, self.eval_data, self.k, n_jobs=self.n_jobs, progress=self._progress)
        values = stacked[0]
        t = self.eval_data.y.astype(np.float64)
        none = -float(np.mean(t * t)) if len(t) else 0.0
        self._result = self._make_result(
            data, values, utility_all=none + float(values.sum()), utility_none=none, relabel_values=stacked[1:].T.copy()
        )
        return self

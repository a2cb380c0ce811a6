"""Exact Threshold KNN-Shapley values (TKNN-Shapley; Wang, Zhu, Wang, Jia & Mittal, 2023).

Wang, J. T., Zhu, Y., Wang, Y.-X., Jia, R. and Mittal, P. (2023). "Threshold KNN-Shapley: A
Linear-Time and Privacy-Friendly Approach to Data Valuation". NeurIPS 2023.
Wang, J. T. and Jia, R. (2023). "A Note on 'Efficient Task-Specific Data Valuation for Nearest
Neighbor Algorithms'". arXiv:2304.04258 (the soft-label utility with a 1/C empty-set guess).

Utility, for one evaluation point (x, y) and a set S of training rows: the neighbours are the rows
of S within Euclidean distance ``tau`` of x; among them the min(K, #neighbours) nearest vote
(ties by row index; ``k = None`` means all of them). ``U(S)`` is the fraction of voters whose label
is y, and ``1/C`` (a uniform guess over the C classes) when S has no row within ``tau``. The
values of a set of evaluation points are the mean over them.

Why a threshold: with the plain KNN utility every row is among the K nearest of *some* small
coalition, so the Shapley average pays every row whose label happens to match -- even rows far from
every evaluation point (random noise). Here a row farther than ``tau`` from an evaluation point is
a null player for it and gets exactly 0; a row near it is paid for its label relative to the 1/C
guess and to the other rows in the ball, so random labels earn nothing on average.

Closed form. Rows outside the ball are null players, so the values of the c rows inside equal the
Shapley values of the game on the ball alone. Write ``U = U_jia + D`` with ``U_jia(S)`` Jia et al.
(2019)'s soft KNN accuracy (hits among the min(K, |S|) nearest, divided by K; 0 for the empty
set) and ``D(S) = (1/|S| - 1/K) * hits(S)`` for ``1 <= |S| < K``, ``D(empty) = 1/C``, ``D = 0``
for ``|S| >= K``. ``U_jia``'s values come from Jia's recursion over the ball (sorted by distance,
rank i = 1..c, m_i = 1[y_i == y]):

    s_c = m_c / max(K, c),    s_i = s_{i+1} + (m_i - m_{i+1}) / max(K, i).

D depends on a coalition only through its size and number of hits, so its value for a row with
match m is, with ``c+`` the hits in the ball, ``q = (c+ - m) / (c - 1)`` the hit rate among the
other rows, ``L = min(K, c) - 1`` and ``H = sum_{s=1..L} 1/(s+1)``:

    phi_D(m) = [ (1 - 1/K) m - 1/C + (H - L/K) m - q H ] / c

(the s-th term is the expected marginal of D over coalitions of size s of the other rows; sizes
>= K contribute nothing). With ``k = None`` (K >= c) this reduces to the paper's closed form
``[m - 1/C + (c m - c+) / (c - 1) * (H_c - 1)] / c``, which only needs the counts c and c+.
Cost: one sort per evaluation point, O(N log N); the sum of all values is U(all) - 1/C.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.base import ProgressCallback, Valuation
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.kernel import ChunkKernel, sum_over_eval_chunks
from openledger_chain.attribution.methods.knn_shapley import (
    check_threshold_params, compact_labels, distance_order, harmonic_numbers, label_count, relabel_values,
)
from openledger_chain.attribution.methods.tknn_baseline import tknn_cohort_values
from openledger_chain.attribution.utility import squared_distances

__all__ = ["AUTO_TAU_FACTOR", "TKNNShapley", "auto_tau", "tknn_shapley_values"]

#: ``tau: "auto"`` is this multiple of the median distance from an evaluation point to its k-th
#: nearest other evaluation point.
AUTO_TAU_FACTOR = 3.0


def auto_tau(x_eval: NDArray[np.float64], k: int | None) -> float | None:
    """The radius ``tau: "auto"`` resolves to, from the evaluation set alone (no contributor can move it).

    Returns None (no radius) when the evaluation set has fewer than two distinct points.
    """
    from sklearn.neighbors import NearestNeighbors

    kk = min(k or 5, len(x_eval) - 1)
    if kk < 1:
        return None
    dist, _ = NearestNeighbors(n_neighbors=kk + 1).fit(x_eval).kneighbors(x_eval)
    scale = float(np.median(dist[:, kk]))
    return AUTO_TAU_FACTOR * scale if scale > 0 else None


@lru_cache(maxsize=4)
def _reciprocals(n: int) -> NDArray[np.float64]:
    """``1 / rank`` for the ranks 1..n (read-only: shared by every chunk of a valuation)."""
    out = 1.0 / np.arange(1, n + 1)
    out.setflags(write=False)
    return out


def _chunk_values(
    x_train: NDArray[np.float64],
    y_train: NDArray[np.int64],
    x_eval: NDArray[np.float64],
    y_eval: NDArray[np.int64],
    tau: float | None,
    k: int | None,
    n_classes: int,
    n_labels: int = 0,
    *,
    train_norms: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Sum over the given evaluation points of their per-point TKNN-Shapley value vectors; with
    ``n_labels``, stacked over the per-label relabelling slopes (shape (1 + L, N)).

    Only the rows in a point's ball are sorted and summed: a row outside it is a null player whose
    value and slope are exactly +0.0, and adding +0.0 leaves every sum's bits as they are, so this is
    bit for bit the sum over all N rows in their full distance order (the ball is that order's prefix).
    At 1,000,000 rows the ball of ``tau: "auto"`` holds about half the rows: half the sorting.

    Each point's vectors are scattered with one ``bincount`` (row i: +0.0 plus its entry, or +0.0 outside
    the ball) and added to the chunk's sums in evaluation-point order. A sum starting at +0.0 is never -0.0,
    so the +0.0 a bincount starts from changes no bits: each row's sum is the same additions, in the same
    order, as one ``bincount`` over all the chunk's points, without concatenating them (at 1,000,000 rows
    ~25 MB of indices and as much of weights per chunk)."""
    n = len(y_train)
    d2 = squared_distances(x_eval, x_train, train_norms)
    inside = None if tau is None else d2 <= tau * tau
    # c = the ball's size per evaluation point.
    c = np.full(len(y_eval), n) if inside is None else inside.sum(axis=1)
    # Per point scalars, vectorized over the chunk's points.
    # Effective K per point: K >= c makes the vote "all rows in the ball" (k=None).
    kk = np.where(c > 0, np.minimum(c, k if k is not None else n), 1).astype(np.float64)
    harmonic = harmonic_numbers(n)
    ell = np.maximum(kk - 1, 0).astype(np.int64)
    h = harmonic[ell + 1] - 1.0
    safe_c = np.maximum(c, 1).astype(np.float64)
    denom = np.maximum(c - 1, 1).astype(np.float64)
    labels = compact_labels(y_train)
    reciprocals = _reciprocals(n)
    # Row 0: the values; row 1 + label: the summed slopes of that label's evaluation points.
    out = np.zeros((1 + n_labels, n))
    for j in range(len(y_eval)):
        if inside is None:
            order = distance_order(d2[j : j + 1])[0]
        else:
            ball = np.flatnonzero(inside[j])
            order = distance_order(d2[j, ball][None, :], ball)[0]
        hit = labels[order] == y_eval[j]
        m = hit.astype(np.float64)
        cp = m.sum()
        # 1 / max(K, rank): the ranks' reciprocals, the first K - 1 ranks' raised to 1/K (the same divisions).
        inverse_rank = reciprocals[: len(order)].copy()
        inverse_rank[: int(kk[j]) - 1] = 1.0 / kk[j]
        # Jia's recursion on the ball: step_i = (m_i - m_{i+1}) / max(K, i), m_{c+1} = 0.
        # m_i - m_{i+1} is -1, 0 or 1, so multiplying by the reciprocal is the division to the last bit.
        step = m.copy()
        step[:-1] -= m[1:]
        step *= inverse_rank
        s = np.cumsum(step[::-1])[::-1]
        # D part: one scalar per match value.
        phi_d = [((1 - 1 / kk[j]) * mv - 1 / n_classes + (h[j] - ell[j] / kk[j]) * mv
                  - (((cp - mv) / denom[j]) if c[j] > 1 else 0.0) * h[j]) / safe_c[j] for mv in (0.0, 1.0)]
        s += np.where(hit, phi_d[1], phi_d[0])
        out[0] += np.bincount(order, weights=s, minlength=n)
        if n_labels:
            # A row's own value is affine in its own match m: slope 1/max(K, rank) from Jia's part plus
            # d phi_D / d m (q counts the *other* rows' hits, so it does not move).
            slope = inverse_rank + ((1 - 1 / kk[j]) + (h[j] - ell[j] / kk[j])) / safe_c[j]
            out[1 + y_eval[j]] += np.bincount(order, weights=slope, minlength=n)
    return out if n_labels else out[0]


def tknn_shapley_values(
    train: Dataset,
    eval_data: Dataset,
    tau: float | None = None,
    k: int | None = None,
    *,
    n_classes: int = 2,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
    n_labels: int = 0,
) -> NDArray[np.float64]:
    """Exact TKNN-Shapley value of every training row, averaged over the evaluation points.

    Args:
        train: Training rows to value.
        eval_data: Evaluation rows.
        tau: Neighbourhood radius (Euclidean, in the units of ``x``; > 0). None: no radius, every
            row is a neighbour (the soft-label KNN-Shapley of Wang & Jia's note).
        k: At most this many of the in-radius rows vote (None: all of them).
        n_classes: C of the empty-neighbourhood guess 1/C.
        n_jobs: Worker threads (default: CPU count, at most 4).
        progress: Optional ``progress(done, total)`` callback over evaluation points.
        n_labels: If > 0, return the (1 + n_labels, N) stack of
            :func:`..knn_shapley.relabel_values` instead.

    Returns:
        float64 array of length ``len(train)``.
    """
    check_threshold_params(tau, k, n_classes)

    chunk = ChunkKernel(_chunk_values, train, eval_data, (tau, k, n_classes, n_labels))
    return sum_over_eval_chunks(len(train), len(eval_data), chunk, n_jobs=n_jobs, progress=progress)


class TKNNShapley(Valuation):
    """Exact Shapley values of the threshold-KNN soft accuracy (Wang et al., 2023).

    Args:
        eval_data: Evaluation rows.
        tau: Neighbourhood radius (None: no radius).
        k: Maximum number of voting neighbours (None: every row within ``tau``).
        n_classes: C of the empty-neighbourhood guess 1/C.
        n_jobs: Worker threads.
        progress: Optional progress callback.
        cohort: For each row of the data ``fit`` gets, its cohort (the round it was first valued
            in): rows of a cohort are valued on top of every row of the earlier cohorts
            (:func:`.tknn_baseline.tknn_cohort_values`). None: one cohort, plain TKNN-Shapley.
    """

    algorithm_name = "tknn_shapley"

    def __init__(
        self,
        eval_data: Dataset,
        tau: float | None = None,
        k: int | None = 5,
        *,
        n_classes: int = 2,
        n_jobs: int | None = None,
        progress: ProgressCallback | None = None,
        cohort: NDArray[np.integer] | None = None,
    ) -> None:
        super().__init__(progress)
        self.eval_data = eval_data
        self.tau = tau
        self.k = k
        self.n_classes = n_classes
        self.n_jobs = n_jobs
        self.cohort = cohort

    def params(self) -> dict[str, Any]:
        return {"tau": self.tau, "k": self.k}

    def fit(self, data: Dataset) -> TKNNShapley:
        n_labels = label_count(data, self.eval_data)
        options = dict(n_classes=self.n_classes, n_jobs=self.n_jobs, progress=self._progress, n_labels=n_labels)
        if self.cohort is not None and len(np.unique(self.cohort)) > 1:
            stacked = tknn_cohort_values(data, self.cohort, self.eval_data, self.tau, self.k, **options)
        else:
            stacked = tknn_shapley_values(data, self.eval_data, self.tau, self.k, **options)
        values, relabelled = relabel_values(stacked.reshape(1 + n_labels, len(data)), data.y)
        u_none = 1.0 / self.n_classes if len(self.eval_data) else 0.0
        self._result = self._make_result(
            data, values, utility_all=u_none + float(values.sum()), utility_none=u_none, relabel_values=relabelled
        )
        return self

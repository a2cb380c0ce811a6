"""Contributor-level threshold-KNN Shapley: contributors are the players, one representative row each.

An experiment of issue 21 (``scripts/padding_frontier.py``), not a method of the spec: row-level
Shapley pays plausible rows by the row, so a contributor that pads its file with synthetic
neighbours of its own rows is paid for them. Here a contributor's extra rows only count where one
of them is *nearer* an evaluation point than its other rows.

The game, one evaluation point (x, y) at a time. The players are the contributors (the distinct
values of ``owner``). Each contributor j is represented at x by its nearest row r_j (ties: the
lowest row index), at distance d_j with label y_j. For a coalition T of contributors, ``U_x(T)`` is
the threshold-KNN soft accuracy of :mod:`.tknn_shapley` over the representatives {r_j : j in T}:
those within ``tau`` of x are its neighbours, the min(K, #neighbours) nearest of them vote (ties
between representatives by contributor, in the order of ``np.unique(owner)``), and the score is the
fraction voting y, or ``1/C`` when no representative is within ``tau``. The values are the mean over
evaluation points of the per-point Shapley values of ``U_x``.

Closed form. A representative does not depend on the coalition (it is the contributor's own nearest
row), so for a fixed x ``U_x`` *is* the TKNN utility of a training set of C rows (the
representatives), and the exact TKNN-Shapley closed form of :mod:`.tknn_shapley` applies to it with
C players: per point one O(N) pass groups the rows by contributor (a minimum per group and the first
row reaching it), then one sort of C distances, O(C log C). The values of the contributors sum to
``U(all) - 1/C`` (efficiency, per point and so for the mean), ``U(all)`` being the mean over points
of ``U_x`` of every contributor.

Row values. The engine and the noise test work on rows, so each contributor's per-point value is
credited to the row that represents it at that point; a contributor's value is the sum of its rows'
(rows that represent it nowhere get 0). Relabelling a row changes neither which row represents whom
nor anybody else's label, and a player's value is affine in its own representative's match, so the
relabelled values (``n_labels``) are exact as in :mod:`.tknn_shapley` and the noise test's moments
stay exact.

What it gives up: splitting one's rows over several identities gives each piece a representative of
its own, so a split contributor takes more of the K votes (sybil gain); measured in
``scripts/padding_frontier.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.base import ProgressCallback, Valuation
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.kernel import ChunkKernel, sum_over_eval_chunks
from openledger_chain.attribution.methods.knn_shapley import (
    check_threshold_params, compact_labels, distance_order, harmonic_numbers, label_count, relabel_values,
)
from openledger_chain.attribution.utility import squared_distances

__all__ = ["ContributorKNN", "contributor_knn_values", "contributor_totals", "representatives"]


def representatives(d2: NDArray[np.float64], starts: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Per evaluation point (row of `d2`) and group of contiguous columns (``starts``): the smallest
    squared distance and the first column reaching it. Shapes (points, groups)."""
    n = d2.shape[1]
    dmin = np.minimum.reduceat(d2, starts, axis=1)
    sizes = np.diff(np.append(starts, n))
    at_min = d2 == np.repeat(dmin, sizes, axis=1)
    column = np.where(at_min, np.arange(n), n)
    return dmin, np.minimum.reduceat(column, starts, axis=1)


def _chunk_values(
    x_train: NDArray[np.float64],
    y_train: NDArray[np.int64],
    x_eval: NDArray[np.float64],
    y_eval: NDArray[np.int64],
    starts: NDArray[np.int64],
    tau: float | None,
    k: int | None,
    n_classes: int,
    n_labels: int = 0,
    *,
    train_norms: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Summed row values over the given evaluation points (rows grouped by contributor, contiguous
    from ``starts``); with ``n_labels``, stacked over the per-label relabelling slopes."""
    n = len(y_train)
    g = len(starts)
    dmin, rep = representatives(squared_distances(x_eval, x_train, train_norms), starts)
    order = distance_order(dmin)  # players by their representative's distance, ties by contributor
    rep = np.take_along_axis(rep, order, axis=1)  # the representative row at each sorted position
    if tau is None:
        c = np.full(len(y_eval), g)
    else:
        c = (dmin <= tau * tau).sum(axis=1)
    del dmin, order
    # From here on, tknn_shapley's closed form with the g representatives as the training rows.
    rank = np.arange(1, g + 1)
    inball = rank[None, :] <= c[:, None]
    m = ((compact_labels(y_train)[rep] == y_eval[:, None]) & inball).astype(np.float64)
    cp = m.sum(axis=1)
    kk = np.where(c > 0, np.minimum(c, k if k is not None else g), 1).astype(np.float64)
    inverse_rank = 1.0 / np.maximum(kk[:, None], rank[None, :])
    m_next = np.zeros_like(m)
    m_next[:, :-1] = m[:, 1:]
    s = np.cumsum(((m - m_next) * inverse_rank)[:, ::-1], axis=1)[:, ::-1]
    del m_next
    harmonic = harmonic_numbers(g)
    ell = np.maximum(kk - 1, 0).astype(np.int64)
    h = harmonic[ell + 1] - 1.0
    safe_c = np.maximum(c, 1).astype(np.float64)
    denom = np.maximum(c - 1, 1).astype(np.float64)
    phi_d = np.empty((len(c), 2))
    for mv in (0.0, 1.0):
        q = np.where(c > 1, (cp - mv) / denom, 0.0)
        phi_d[:, int(mv)] = ((1 - 1 / kk) * mv - 1 / n_classes + (h - ell / kk) * mv - q * h) / safe_c
    s += np.where(inball, np.where(m > 0, phi_d[:, 1:2], phi_d[:, 0:1]), 0.0)
    values = np.bincount(rep.ravel(), weights=s.ravel(), minlength=n)
    if not n_labels:
        return values
    slope = np.where(inball, inverse_rank + ((1 - 1 / kk) + (h - ell / kk))[:, None] / safe_c[:, None], 0.0)
    return stack_label_slopes(values, rep, slope, y_eval, n_labels)


def stack_label_slopes(values: NDArray[np.float64], rep: NDArray[np.int64], slope: NDArray[np.float64],
                       y_eval: NDArray[np.int64], n_labels: int) -> NDArray[np.float64]:
    """`values` stacked over the per-label relabelling slopes: row 1 + l sums, over the evaluation points of
    label l, each sorted position's slope credited to its representative row `rep`. Shape (1 + L, N)."""
    n = len(values)
    out = np.zeros((1 + n_labels, n))
    out[0] = values
    for label in np.unique(y_eval):
        at = y_eval == label
        out[1 + label] = np.bincount(rep[at].ravel(), weights=slope[at].ravel(), minlength=n)
    return out


def contributor_knn_values(
    train: Dataset,
    owner: NDArray[np.integer],
    eval_data: Dataset,
    tau: float | None = None,
    k: int | None = None,
    *,
    n_classes: int = 2,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
    n_labels: int = 0,
) -> NDArray[np.float64]:
    """Row values of the contributor-level game (each contributor's per-point Shapley value credited
    to its representative row), averaged over the evaluation points.

    Args:
        train: Training rows.
        owner: The contributor of each row (any integers; players in ``np.unique`` order, which
            also breaks ties between representatives at equal distance).
        eval_data, tau, k, n_classes, n_jobs, progress, n_labels: as
            :func:`.tknn_shapley.tknn_shapley_values`.

    Returns:
        float64 array of length ``len(train)`` (with `n_labels`, the (1 + n_labels, N) stack of
        :func:`..knn_shapley.relabel_values`). Summed per contributor (:func:`contributor_totals`)
        they are the contributors' Shapley values.
    """
    check_threshold_params(tau, k, n_classes)
    owner = np.asarray(owner)
    if owner.shape != (len(train),):
        raise ValueError(f"owner needs one entry per training row, got shape {owner.shape} for {len(train)} rows")
    if len(train) == 0:
        return np.zeros((1 + n_labels, 0)) if n_labels else np.zeros(0)
    _, group = np.unique(owner, return_inverse=True)
    perm = np.argsort(group, kind="stable")  # rows of one contributor contiguous, in row order
    sizes = np.bincount(group)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    chunk = ChunkKernel(_chunk_values, train.subset(perm), eval_data, (starts, tau, k, n_classes, n_labels))
    stacked = sum_over_eval_chunks(len(train), len(eval_data), chunk, n_jobs=n_jobs, progress=progress)
    out = np.empty_like(stacked)
    out[..., perm] = stacked
    return out


def contributor_totals(values: NDArray[np.float64], owner: NDArray[np.integer]) -> dict[int, float]:
    """Contributor -> the sum of its rows' values."""
    keys, group = np.unique(np.asarray(owner), return_inverse=True)
    sums = np.bincount(group, weights=values, minlength=len(keys))
    return {int(k): float(v) for k, v in zip(keys.tolist(), sums)}


class ContributorKNN(Valuation):
    """Exact Shapley values of the contributor-level threshold-KNN game (module docstring).

    Args:
        eval_data: Evaluation rows.
        owner: The contributor of each row of the data ``fit`` gets.
        tau: Neighbourhood radius (None: no radius).
        k: Maximum number of voting representatives (None: every one within ``tau``).
        n_classes: C of the empty-neighbourhood guess 1/C.
        n_jobs: Worker threads.
        progress: Optional progress callback.
    """

    algorithm_name = "contributor_knn"

    def __init__(
        self,
        eval_data: Dataset,
        owner: NDArray[np.integer],
        tau: float | None = None,
        k: int | None = 5,
        *,
        n_classes: int = 2,
        n_jobs: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        super().__init__(progress)
        self.eval_data = eval_data
        self.owner = np.asarray(owner)
        self.tau = tau
        self.k = k
        self.n_classes = n_classes
        self.n_jobs = n_jobs

    def params(self) -> dict[str, Any]:
        return {"tau": self.tau, "k": self.k}

    def fit(self, data: Dataset) -> ContributorKNN:
        n_labels = label_count(data, self.eval_data)
        stacked = contributor_knn_values(data, self.owner, self.eval_data, self.tau, self.k, n_classes=self.n_classes,
                                         n_jobs=self.n_jobs, progress=self._progress, n_labels=n_labels)
        values, relabelled = relabel_values(stacked.reshape(1 + n_labels, len(data)), data.y)
        u_none = 1.0 / self.n_classes if len(self.eval_data) else 0.0
        self._result = self._make_result(
            data, values, utility_all=u_none + float(values.sum()), utility_none=u_none, relabel_values=relabelled
        )
        return self

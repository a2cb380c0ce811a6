"""Exact TKNN-Shapley values of new rows on top of a baseline of rows that are always present.

The game: players are the new rows P; the baseline rows B are in every coalition, so
``V(S) = U(B + S)`` with ``U`` the threshold-KNN soft accuracy of :mod:`.tknn_shapley`. The values
of P sum to ``U(B + P) - U(B)``: what the new rows add to the baseline, shared by Shapley. With
B empty they are the plain TKNN-Shapley values.

What it is for: valuing a round's new contributions on top of the data of earlier rounds (order
between rounds only, Shapley within a round). Rows fabricated from earlier, revealed data --
points between earlier rows, rows labelled by a classifier trained on them -- add little to that
data, so they are worth little here, while Shapley over every row pays them like real data.

Closed form, one evaluation point (label y). Rows outside the ball of radius tau are null players;
baseline rows outside it do not vote. In distance order (ties: baseline rows first, then by index)
let the ball hold b baseline rows and n new rows p_1..p_n, m = 1[label == y], beta_i the baseline
rows before p_i, g_i = beta_(i+1) - beta_i (g_n = b - beta_n) the baseline rows between p_i and
p_(i+1), mb_j the match of the j-th baseline row, K the effective vote size (min(k, b + n)).
Write ``U = U_jia + D`` as in :mod:`.tknn_shapley`.

*U_jia*. For neighbouring new rows p_i, p_(i+1) and a coalition S of the other new rows, let
r = beta_i + |S before p_i|. Then ``U_jia(B+S+p_i) - U_jia(B+S+p_(i+1))`` is
``(m_i - m_(i+1))/K`` for r <= K - g_i - 1 (both vote), ``(m_i - mb_(beta_i + K - r))/K`` for
K - g_i <= r <= K - 1 (p_i displaces the baseline row that p_(i+1) would not reach), and 0 for
r >= K. Under Shapley weights |S before p_i| is uniform on 0..i-1 (p_i's place among the i-1
nearer new rows in a random order), so

    phi_i - phi_(i+1) = [(n1 + n2) m_i - n1 m_(i+1) - sum of mb over region 2] / (K i)

with n1, n2 the number of r in each region, and phi_(n+1) = 0, m_(n+1) = 0 (the same formula
with g_n gives phi_n: beyond the last baseline row nobody is displaced). With b = 0 this is Jia
et al.'s recursion ``(m_i - m_(i+1)) / max(K, i)``.

*D* (``D(T) = (1/|T| - 1/K) hits(T)`` for 1 <= |T| < K, ``1/C`` for T empty, 0 for |T| >= K)
depends on S through |S| = s (uniform on 0..n-1) and its hits, of mean s q with q = (n+ - m) /
(n - 1) the hit rate of the other new rows, and D is linear in hits, so

    phi_D(m) = (1/n) sum_s [f(b + s + 1, b+ + s q + m) - f(b + s, b+ + s q)],   f(z, h) = D of a
    set of z rows with h hits,

summed in closed form with harmonic numbers (only b + s < K contributes). A row's value is affine
in its own m (the baseline's and the other rows' labels held fixed), which the noise test uses.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.base import ProgressCallback
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.kernel import ChunkKernel, sum_over_eval_chunks
from openledger_chain.attribution.methods.knn_shapley import (
    check_threshold_params, compact_labels, distance_order, harmonic_numbers, relabel_slopes, scatter_sum,
)
from openledger_chain.attribution.utility import squared_distances

__all__ = ["tknn_cohort_values", "tknn_shapley_values_on_baseline"]


def _harmonic_sum(harmonic: NDArray[np.float64], z0: NDArray[np.int64], z1: NDArray[np.int64], alpha: NDArray[np.float64],
                  q: NDArray[np.float64], k: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``sum_{z=z0..z1} (1/z - 1/K)(alpha + z q)`` (0 where z1 < z0; z0 >= 1), and its derivative in alpha."""
    count = np.maximum(z1 - z0 + 1, 0).astype(np.float64)
    top = np.maximum(z1, z0 - 1)
    inverse_sum = harmonic[top] - harmonic[z0 - 1] - count / k
    z_sum = (z0 + top) * count / 2.0
    return alpha * inverse_sum + q * (count - z_sum / k), inverse_sum


def _chunk_values(
    x_train: NDArray[np.float64],
    y_train: NDArray[np.int64],
    x_eval: NDArray[np.float64],
    y_eval: NDArray[np.int64],
    n_baseline: int,
    tau: float | None,
    k: int | None,
    n_classes: int,
    n_labels: int = 0,
    *,
    train_norms: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Summed values of the new rows (train rows ``n_baseline..``) over the given evaluation points;
    with ``n_labels``, stacked over the relabelling slopes (shape (1 + L, new rows))."""
    total = len(y_train)
    n_new = total - n_baseline
    points = len(y_eval)
    d2 = squared_distances(x_eval, x_train, train_norms)
    order = distance_order(d2)  # the baseline rows come first in the pooled index: they win ties
    ball = np.full(points, total) if tau is None else (d2 <= tau * tau).sum(axis=1)
    del d2
    labels = compact_labels(y_train)
    is_new = (order >= n_baseline).ravel()
    # Each point's new rows, and its baseline rows, in distance order.
    flat_new = np.flatnonzero(is_new).reshape(points, n_new)
    base_order = order.ravel()[~is_new].reshape(points, n_baseline)
    new_order = order.ravel()[flat_new].reshape(points, n_new)
    position = flat_new - (np.arange(points) * total)[:, None]
    del order, is_new, flat_new
    rank = np.arange(1, n_new + 1)
    n = (position < ball[:, None]).sum(axis=1)  # new rows in the ball; the ball is a prefix of the order
    b = ball - n
    inball = rank[None, :] <= n[:, None]
    m = ((labels[new_order] == y_eval[:, None]) & inball).astype(np.float64)
    new_order -= n_baseline
    base_hits = np.zeros((points, n_baseline + 1))
    np.cumsum(labels[base_order] == y_eval[:, None], axis=1, out=base_hits[:, 1:])
    del base_order
    kk = np.maximum(np.minimum(b + n, k if k is not None else total), 1)[:, None]
    beta = position - (rank - 1)[None, :]
    del position
    beta_next = np.where(rank[None, :] < n[:, None], np.concatenate([beta[:, 1:], beta[:, -1:]], axis=1), b[:, None])
    gap = beta_next - beta
    m_next = np.zeros_like(m)
    m_next[:, :-1] = m[:, 1:]
    # phi_i - phi_(i+1) over r = beta_i .. beta_i + i - 1: region 1 (both vote), region 2 (p_i displaces
    # a baseline row between p_i and p_(i+1)).
    n1 = np.clip(kk - gap - beta, 0, rank[None, :])
    r_lo = np.maximum(beta, kk - gap)
    r_hi = np.minimum(beta + rank[None, :] - 1, kk - 1)
    n2 = np.maximum(r_hi - r_lo + 1, 0)
    top = np.clip(beta + kk - r_lo, 0, n_baseline)
    bottom = np.clip(beta + kk - r_hi - 1, 0, n_baseline)
    displaced = np.where(n2 > 0, np.take_along_axis(base_hits, top, 1) - np.take_along_axis(base_hits, bottom, 1), 0.0)
    del beta, beta_next, gap, r_lo, r_hi, top, bottom
    scale = 1.0 / (kk * rank[None, :])
    steps = np.where(inball, ((n1 + n2) * m - n1 * m_next - displaced) * scale, 0.0)
    phi = np.cumsum(steps[:, ::-1], axis=1)[:, ::-1]
    del steps, m_next, displaced
    d_values, d_slopes = _d_part(m, n, b, base_hits[np.arange(points), b], kk[:, 0], n_classes, harmonic_numbers(total))
    phi += np.where(inball, np.where(m > 0, d_values[:, 1:2], d_values[:, 0:1]), 0.0)
    values = scatter_sum(new_order, phi, n_new)
    if not n_labels:
        return values
    slope = np.where(inball, (n1 + n2) * scale + d_slopes[:, None], 0.0)
    return np.vstack([values, relabel_slopes(new_order, slope, y_eval, n_labels)])


def _d_part(m: NDArray[np.float64], n: NDArray[np.int64], b: NDArray[np.int64], base_hits: NDArray[np.float64],
            kk: NDArray[np.int64], n_classes: int, harmonic: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per point: D's value of a new row in the ball with match 0 and with match 1 (shape (points, 2)),
    and its slope in the row's own match (q, the other rows' hit rate, held fixed)."""
    hits = m.sum(axis=1)
    k = kk.astype(np.float64)
    safe_n = np.maximum(n, 1).astype(np.float64)
    last = np.minimum(kk - b - 1, n - 1)  # the largest coalition size s with b + s < K
    values = np.zeros((len(n), 2))
    empty = np.where(b == 0, 1.0 / n_classes, 0.0)  # s = 0 with no baseline row: D(empty set) = 1/C
    for mv in (0, 1):
        q = np.where(n > 1, (hits - mv) / np.maximum(n - 1, 1), 0.0)
        added, inverse_sum = _harmonic_sum(harmonic, b + 1, np.minimum(b + last + 1, kk - 1), base_hits + mv - (b + 1) * q, q, k)
        before, _ = _harmonic_sum(harmonic, np.maximum(b, 1), b + last, base_hits - b * q, q, k)
        values[:, mv] = np.where(last >= 0, (added - before - empty) / safe_n, 0.0)
    # d phi_D / d m: m enters only the added row's hits (alpha of the first sum), with the same z range.
    return values, np.where(last >= 0, inverse_sum / safe_n, 0.0)


def tknn_cohort_values(
    train: Dataset,
    cohort: NDArray[np.integer],
    eval_data: Dataset,
    tau: float | None = None,
    k: int | None = None,
    *,
    n_classes: int = 2,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
    n_labels: int = 0,
) -> NDArray[np.float64]:
    """Each cohort's rows valued on top of every row of the earlier cohorts (lower numbers).

    The values of cohort c sum to ``U(cohorts <= c) - U(cohorts < c)``, so all of them sum to
    ``U(all) - 1/C``, as plain TKNN-Shapley values do. Arguments as
    :func:`tknn_shapley_values_on_baseline`; `cohort` has one entry per row of `train`.
    """
    cohort = np.asarray(cohort)
    if cohort.shape != (len(train),):
        raise ValueError(f"cohort needs one entry per training row, got shape {cohort.shape} for {len(train)} rows")
    out = np.zeros((1 + n_labels, len(train)))
    for c in np.unique(cohort):
        rows, earlier = cohort == c, cohort < c
        out[:, rows] = tknn_shapley_values_on_baseline(
            train.subset(np.flatnonzero(earlier)), train.subset(np.flatnonzero(rows)), eval_data, tau, k,
            n_classes=n_classes, n_jobs=n_jobs, progress=progress, n_labels=n_labels,
        ).reshape(1 + n_labels, -1)
    return out if n_labels else out[0]


def tknn_shapley_values_on_baseline(
    baseline: Dataset,
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
    """Exact TKNN-Shapley value of every row of `train` when every row of `baseline` is always present,
    averaged over the evaluation points (arguments as :func:`.tknn_shapley.tknn_shapley_values`).

    Returns:
        float64 array of length ``len(train)`` (with `n_labels`, the (1 + n_labels, len(train)) stack
        of :func:`..knn_shapley.relabel_values`).
    """
    check_threshold_params(tau, k, n_classes)
    if len(train) == 0:
        return np.zeros((1 + n_labels, 0)) if n_labels else np.zeros(0)
    pooled = Dataset(np.vstack([baseline.x, train.x]), np.concatenate([baseline.y, train.y]))
    chunk = ChunkKernel(_chunk_values, pooled, eval_data, (len(baseline), tau, k, n_classes, n_labels))
    return sum_over_eval_chunks(len(pooled), len(eval_data), chunk, n_jobs=n_jobs, progress=progress)

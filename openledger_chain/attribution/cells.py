"""Exact k nearest neighbours of every row, found through Voronoi cells and certified (issue 25).

Copy detection needs each usable row's nearest rows. A brute-force or tree search over a million
rows takes most of an hour here; an approximate index (IVF, HNSW) is fast but may miss a neighbour,
and which one it misses depends on threads, CPU and training. This search uses cells only to decide
*where to look* and proves, row by row, that it looked everywhere a nearer row could be:

1. Cell centres are sample rows moved by a few Lloyd steps (k-means); every row goes to its
   nearest centre. Any centres give a correct answer: they only change how much is searched.
2. For a row ``q`` of cell ``h``, a row ``x`` of another cell ``c`` is nearer to ``c``'s centre
   than to ``h``'s, so it lies beyond the bisecting hyperplane of the two centres, and
   ``d(q, x) >= (|q - c|^2 - |q - h|^2) / (2 |c - h|)``. The rows of ``h``'s nearest cells are
   searched exactly; whenever the ``k``-th nearest distance found exceeds that bound for a cell not
   yet searched, that cell is searched too, until none is left. The lists are then the exact
   ``k`` nearest rows, whatever the centres were (so the result does not depend on the number of
   threads, the machine or a seed), up to the rounding of distances that
   :class:`~openledger_chain.attribution.dedup.NeighbourIndex` already allows for with its margin.

Float rounding of the cell assignment is covered by a slack in the bound, so a row assigned to
a cell by a hair is never left out; the slack only makes the search look a little further.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["ROWS_PER_CELL", "certified_knn"]

#: Target rows per cell: small cells mean few distances per row, but more cells to rule out.
ROWS_PER_CELL = 256
#: Cells searched for every row before the certificate is checked (the home cell's nearest).
_FIRST_PROBES = 8
_LLOYD_STEPS = 4
_QUERY_CHUNK = 1024
#: Rows that search further share one search in groups of this size (fewer, larger searches).
_GROUP = 16


def _squared_distances(a: NDArray[np.float64], b: NDArray[np.float64], b_norms: NDArray[np.float64]) -> NDArray[np.float64]:
    d = (a * a).sum(axis=1)[:, None] - 2.0 * (a @ b.T) + b_norms[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _centres(points: NDArray[np.float64], cells: int, seed: int) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    n = len(points)
    sample = points[rng.choice(n, size=min(n, 32 * cells), replace=False)]
    centres = sample[rng.choice(len(sample), size=cells, replace=False)].copy()
    for _ in range(_LLOYD_STEPS):
        owner = np.argmin(_squared_distances(sample, centres, (centres * centres).sum(axis=1)), axis=1)
        counts = np.bincount(owner, minlength=cells)
        sums = np.zeros_like(centres)
        np.add.at(sums, owner, sample)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres


def certified_knn(
    points: NDArray[np.float64],
    k: int,
    *,
    rows_per_cell: int = ROWS_PER_CELL,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> NDArray[np.int64]:
    """Each row's ``k`` nearest rows (itself included), nearest first.

    Args:
        points: The rows (n x features).
        k: Neighbours per row (at most n).
        rows_per_cell: Target cell size (speed only; the result does not depend on it).
        seed: Picks the first cell centres (speed only).
        progress: Called with (rows done, rows) as cells finish.

    Returns:
        An (n, k) array of row indices, ordered by exact distance (ties by index).
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    n = len(points)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, not {k}")
    cells = max(1, min(n // max(rows_per_cell, 1), n))
    centres = _centres(points, cells, seed)
    centre_norms = (centres * centres).sum(axis=1)
    point_norms = (points * points).sum(axis=1)
    # A computed squared distance is off by at most about (features + 3) eps (|a| + |b|)^2; twice that
    # covers both distances compared when a row was assigned to its cell.
    scale = float(np.sqrt(point_norms.max())) + float(np.sqrt(centre_norms.max()))
    slack = 4.0 * (points.shape[1] + 3) * float(np.finfo(np.float64).eps) * scale * scale
    home = np.empty(n, dtype=np.int64)
    for lo in range(0, n, 8192):
        home[lo : lo + 8192] = np.argmin(_squared_distances(points[lo : lo + 8192], centres, centre_norms), axis=1)
    order = np.argsort(home, kind="stable")
    starts = np.searchsorted(home[order], np.arange(cells + 1))
    members = [order[starts[c] : starts[c + 1]] for c in range(cells)]
    centre_gaps = np.sqrt(_squared_distances(centres, centres, centre_norms))  # |c - h|
    result = np.empty((n, k), dtype=np.int64)
    done = 0
    for h in range(cells):
        queries_all = members[h]
        if not len(queries_all):
            continue
        by_nearness = np.argsort(centre_gaps[h], kind="stable")
        for lo in range(0, len(queries_all), _QUERY_CHUNK):
            queries = queries_all[lo : lo + _QUERY_CHUNK]
            q = points[queries]
            to_centres = _squared_distances(q, centres, centre_norms)
            with np.errstate(divide="ignore", invalid="ignore"):
                bound = (to_centres - to_centres[:, [h]] - slack) / (2.0 * centre_gaps[h][None, :])
            bound[:, h] = -np.inf  # the home cell is always searched
            searched = np.zeros((len(queries), cells), dtype=bool)
            searched[:, by_nearness[:_FIRST_PROBES]] = True
            # Every row is searched against the home cell's nearest cells, then each row whose k-th
            # distance a cell it has not searched could beat searches every such cell (its k-th distance
            # can only shrink, so one more search settles it). Rows share searches in small groups.
            candidates = np.concatenate([members[c] for c in by_nearness[:_FIRST_PROBES]])
            neighbours, kth = _nearest(points, queries, candidates, point_norms, k)
            result[queries] = neighbours
            unsure = np.flatnonzero((bound[:, by_nearness[_FIRST_PROBES:]] < kth[:, None]).any(axis=1))
            for first in range(0, len(unsure), _GROUP):
                group = unsure[first : first + _GROUP]
                needed = np.flatnonzero((bound[group] < kth[group, None]).any(axis=0))
                candidates = np.concatenate([members[c] for c in needed])
                result[queries[group]] = _nearest(points, queries[group], candidates, point_norms, k)[0]
        done += len(queries_all)
        if progress is not None:
            progress(done, n)
    return result


def _nearest(
    points: NDArray[np.float64], queries: NDArray[np.int64], candidates: NDArray[np.int64],
    point_norms: NDArray[np.float64], k: int,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The k nearest of `candidates` to each query (exact distances, ties by index) and the k-th distance."""
    if len(candidates) < k:
        return np.zeros((len(queries), k), dtype=np.int64), np.full(len(queries), np.inf)
    q = points[queries]
    approx = _squared_distances(q, points[candidates], point_norms[candidates])
    # Keep a few more than k by the fast formula, then order those by distances computed exactly.
    keep = min(len(candidates), k + 8)
    part = np.argpartition(approx, keep - 1, axis=1)[:, :keep] if keep < len(candidates) else np.tile(
        np.arange(len(candidates)), (len(queries), 1))
    listed = candidates[part]
    exact = np.linalg.norm(points[listed] - q[:, None, :], axis=2)
    ranked = np.lexsort((listed, exact), axis=1)[:, :k]
    rows = np.take_along_axis(listed, ranked, axis=1)
    kth = np.take_along_axis(exact, ranked[:, -1:], axis=1)[:, 0]
    return rows, kth

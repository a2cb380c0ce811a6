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

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

__all__ = [
    "APPROXIMATE_PROBES", "ROWS_PER_CELL", "ApproximateLists", "CellPlan", "CellRunner", "approximate_knn", "cell_blocks",
    "certified_knn", "plan_cells", "search_cells", "searched_fraction",
]

#: Target rows per cell: small cells mean few distances per row, but more cells to rule out.
ROWS_PER_CELL = 256
#: Cells searched for every row before the certificate is checked (the home cell's nearest).
_FIRST_PROBES = 8
_LLOYD_STEPS = 4
_QUERY_CHUNK = 1024
#: Rows of home cells per task on a cluster.
_ROWS_PER_BLOCK = 65_536
#: Rows that search further share one search in groups of this size (fewer, larger searches).
_GROUP = 16
#: Queries per grid product in approximate_knn: their (queries x candidates) distances stay in a core's cache.
_GRID_QUERIES = 128
#: Rows per product when assigning rows to their nearest centres (rows x cells stays in cache).
_CENTRE_ROWS = 256
#: Rows per task of that assignment, and home cells per task of the lists, on approximate_knn's threads.
_CENTRE_TASK_ROWS = 16_384
_CELLS_PER_TASK = 32


def _squared_distances(a: NDArray[np.float64], b: NDArray[np.float64], b_norms: NDArray[np.float64]) -> NDArray[np.float64]:
    d = (a * a).sum(axis=1)[:, None] - 2.0 * (a @ b.T) + b_norms[None, :]
    np.maximum(d, 0.0, out=d)
    return d


def _nearest_centres(points: NDArray[np.float64], centres: NDArray[np.float64]) -> NDArray[np.int64]:
    """Each row's nearest centre, a bounded block of rows at a time (a whole sample x centres matrix
    is gigabytes at a million rows)."""
    centre_norms = (centres * centres).sum(axis=1)
    step = max(1, 2**22 // max(len(centres), 1))
    return np.concatenate([np.argmin(_squared_distances(points[lo : lo + step], centres, centre_norms), axis=1)
                           for lo in range(0, len(points), step)])


def _centres(points: NDArray[np.float64], cells: int, seed: int) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    n = len(points)
    sample = points[rng.choice(n, size=min(n, 32 * cells), replace=False)]
    centres = sample[rng.choice(len(sample), size=cells, replace=False)].copy()
    for _ in range(_LLOYD_STEPS):
        owner = _nearest_centres(sample, centres)
        counts = np.bincount(owner, minlength=cells)
        sums = np.zeros_like(centres)
        np.add.at(sums, owner, sample)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres


@dataclass(frozen=True)
class CellPlan:
    """Where each row lives: what a worker needs, besides the rows, to search any range of home cells."""

    k: int
    centres: NDArray[np.float64]
    members: tuple[NDArray[np.int64], ...]  # rows of each cell
    slack: float

    @property
    def cells(self) -> int:
        return len(self.centres)


def plan_cells(points: NDArray[np.float64], k: int, *, rows_per_cell: int = ROWS_PER_CELL, seed: int = 0) -> CellPlan:
    """Cell centres and each cell's rows (speed only: the search's answer does not depend on them)."""
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
    home = _nearest_centres(points, centres)
    order = np.argsort(home, kind="stable")
    starts = np.searchsorted(home[order], np.arange(cells + 1))
    return CellPlan(k, centres, tuple(order[starts[c] : starts[c + 1]] for c in range(cells)), slack)


def cell_blocks(plan: CellPlan) -> list[tuple[int, int]]:
    """Ranges of home cells holding about :data:`_ROWS_PER_BLOCK` rows each (fixed by the plan alone)."""
    rows_per_block = _ROWS_PER_BLOCK
    blocks, first, rows = [], 0, 0
    for c, members in enumerate(plan.members):
        rows += len(members)
        if rows >= rows_per_block:
            blocks.append((first, c + 1))
            first, rows = c + 1, 0
    if first < plan.cells or not blocks:
        blocks.append((first, plan.cells))
    return blocks


def search_cells(points: NDArray[np.float64], plan: CellPlan, first: int, stop: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The rows of home cells ``first..stop-1`` and their k nearest rows (see the module docstring)."""
    rows, lists, _ = _search_cells(points, plan, range(first, stop))
    return rows, lists


def searched_fraction(points: NDArray[np.float64], plan: CellPlan, cells: int = 8, seed: int = 0) -> float:
    """Distances the search computes for a sample of home cells, as a fraction of a brute-force search's
    for the same rows: near 1 on data with as many degrees of freedom as features, where cells
    cannot rule anything out and a plain search is the faster way to the same lists."""
    sample = np.random.default_rng(seed).choice(plan.cells, size=min(cells, plan.cells), replace=False)
    rows, _, pairs = _search_cells(points, plan, sorted(sample.tolist()), count_only=True)
    return pairs / max(len(rows) * len(points), 1)


def _search_cells(
    points: NDArray[np.float64], plan: CellPlan, homes: Sequence[int], count_only: bool = False,
) -> tuple[NDArray[np.int64], NDArray[np.int64], int]:
    """:func:`search_cells` over the home cells `homes`, with the number of distances computed (with
    `count_only`, the second searches are counted, not made: their lists are left unfinished)."""
    first, stop = (homes[0], homes[-1] + 1) if len(homes) else (0, 0)
    centres, members, k = plan.centres, plan.members, plan.k
    centre_norms = (centres * centres).sum(axis=1)
    point_norms = (points * points).sum(axis=1)
    # |c - h|, rounded up: a gap computed too small would raise the bound above the truth. The squared gap
    # is off by at most about (features + 3) eps (2 max |c|)^2.
    gap_slack = 4.0 * (points.shape[1] + 3) * float(np.finfo(np.float64).eps) * 4.0 * float(centre_norms.max())
    centre_gaps = np.sqrt(_squared_distances(centres[first:stop], centres, centre_norms) + gap_slack)
    rows = np.concatenate([members[h] for h in homes]) if len(homes) else np.zeros(0, dtype=np.int64)
    lists = np.empty((len(rows), k), dtype=np.int64)
    at = pairs = 0
    for h in homes:
        gaps = centre_gaps[h - first]
        by_nearness = np.argsort(gaps, kind="stable")
        for lo in range(0, len(members[h]), _QUERY_CHUNK):
            queries = members[h][lo : lo + _QUERY_CHUNK]
            to_centres = _squared_distances(points[queries], centres, centre_norms)
            with np.errstate(divide="ignore", invalid="ignore"):
                bound = (to_centres - to_centres[:, [h]] - plan.slack) / (2.0 * gaps[None, :])
            bound[:, h] = -np.inf  # the home cell is always searched
            # Every row is searched against the home cell's nearest cells, then each row whose k-th
            # distance a cell it has not searched could beat searches every such cell (its k-th distance
            # can only shrink, so one more search settles it). Rows share searches in small groups.
            candidates = np.concatenate([members[c] for c in by_nearness[:_FIRST_PROBES]])
            found, kth = _nearest(points, queries, candidates, point_norms, k)
            pairs += len(queries) * len(candidates)
            unsure = np.flatnonzero((bound[:, by_nearness[_FIRST_PROBES:]] < kth[:, None]).any(axis=1))
            for start in range(0, len(unsure), _GROUP):
                group = unsure[start : start + _GROUP]
                needed = np.flatnonzero((bound[group] < kth[group, None]).any(axis=0))
                candidates = np.concatenate([members[c] for c in needed])
                pairs += len(group) * len(candidates)
                if not count_only:
                    found[group] = _nearest(points, queries[group], candidates, point_norms, k)[0]
            lists[at : at + len(queries)] = found
            at += len(queries)
    return rows, lists, pairs


class CellRunner(Protocol):
    """Searches ranges of home cells somewhere else (:class:`.distributed.DaskRunner`)."""

    def cell_searches(
        self, points: NDArray[np.float64], plan: CellPlan, blocks: list[tuple[int, int]],
    ) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64]]]:
        """:func:`search_cells` of each block, in block order."""
        ...


def certified_knn(
    points: NDArray[np.float64],
    k: int,
    *,
    rows_per_cell: int = ROWS_PER_CELL,
    seed: int = 0,
    runner: CellRunner | None = None,
    give_up_above: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> NDArray[np.int64] | None:
    """Each row's ``k`` nearest rows (itself included), nearest first.

    Args:
        points: The rows (n x features).
        k: Neighbours per row (at most n).
        rows_per_cell: Target cell size (speed only; the result does not depend on it).
        seed: Picks the first cell centres (speed only).
        runner: Searches blocks of cells elsewhere (a Dask cluster); None: in this process.
        give_up_above: Return None, having searched a sample of cells only, if that sample computed more
            than this fraction of a brute-force search's distances (:func:`searched_fraction`).
        progress: Called with (rows done, rows) as blocks finish.

    Returns:
        An (n, k) array of row indices, ordered by exact distance (ties by index); None if it gave up.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    plan = plan_cells(points, k, rows_per_cell=rows_per_cell, seed=seed)
    if give_up_above is not None and searched_fraction(points, plan) > give_up_above:
        return None
    blocks = cell_blocks(plan)
    parts = (runner.cell_searches(points, plan, blocks) if runner is not None
             else (search_cells(points, plan, first, stop) for first, stop in blocks))
    result = np.empty((len(points), k), dtype=np.int64)
    done = 0
    for rows, lists in parts:
        result[rows] = lists
        done += len(rows)
        if progress is not None:
            progress(done, len(points))
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


# ---------------------------------------------------------------------------------------------------
# Approximate candidates (issue 25's decision): each row's candidates are the rows of a fixed number of
# cells, and copy detection then decides from exact distances among them. Everything that picks the
# candidates runs on a fixed-point grid whose coordinates are integers small enough that every dot
# product and sum is exact in float64 (whatever order BLAS adds them in, with or without FMA): the
# centres, each row's cell, each cell's probes and the short list's first cut are the same bits on any
# machine and any number of threads. Only the final order uses real coordinates, computed row by row.

#: Cells searched for each home cell (the home cell's nearest centres, itself first).
APPROXIMATE_PROBES = 16


def _grid_step(points: NDArray[np.float64]) -> float:
    """Step of the fixed-point grid: |coordinate| <= 2**b steps with 4 d 4**b <= 2**53, so squared
    distances |a|^2 + |b|^2 - 2ab between grid points are exact integers in float64."""
    d = max(points.shape[1], 1)
    bits = (51 - int(np.ceil(np.log2(d)))) // 2
    largest = float(np.abs(points).max()) if points.size else 0.0
    return largest / 2.0**bits if largest > 0 else 1.0


def _on_grid(points: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    return np.rint(points / step)


def _nearest_centres_on(
    pool: ThreadPoolExecutor, grid: NDArray[np.float64], centres: NDArray[np.float64],
) -> NDArray[np.int64]:
    """:func:`_exact_nearest_centres` of pieces of `_CENTRE_TASK_ROWS` rows on `pool`'s threads."""
    return np.concatenate(list(pool.map(lambda lo: _exact_nearest_centres(grid[lo : lo + _CENTRE_TASK_ROWS], centres),
                                        range(0, len(grid), _CENTRE_TASK_ROWS))))


def _exact_nearest_centres(grid: NDArray[np.float64], centres: NDArray[np.float64]) -> NDArray[np.int64]:
    """Each grid row's nearest grid centre, ties to the lowest centre index: exact integer arithmetic."""
    # The nearest centre has the greatest [g, 1] . [2c, -|c|^2] = |g|^2 - |g - c|^2, in one product into one
    # reused buffer of a few rows (a block that stays in cache): every partial sum is an integer of at most
    # 2 |g| |c| + |c|^2 <= 3 d 4**b < 2**53 (see _grid_step), so exact in any order, and argmax takes the first of
    # equal values as argmin did.
    against = np.empty((len(centres), grid.shape[1] + 1))
    np.multiply(centres, 2.0, out=against[:, :-1])
    against[:, -1] = -(centres * centres).sum(axis=1)
    rows = _CENTRE_ROWS
    block = np.ones((rows, grid.shape[1] + 1))
    product = np.empty((rows, len(centres)))
    out = np.empty(len(grid), dtype=np.int64)
    for lo in range(0, len(grid), rows):
        hi = min(lo + rows, len(grid))
        block[: hi - lo, :-1] = grid[lo:hi]
        np.matmul(block[: hi - lo], against.T, out=product[: hi - lo])
        out[lo:hi] = np.argmax(product[: hi - lo], axis=1)
    return out


@dataclass(frozen=True)
class ApproximateLists:
    """What :func:`approximate_knn` found: each row's list, and where its candidates were.

    Attributes:
        lists: (n, k) row indices, nearest first by exact distance (ties by index), among the row's candidates.
        distances: (n, k) their exact distances, ``np.linalg.norm(points[lists[i]] - points[i], axis=1)``.
        home: Each row's cell.
        probes: (cells, p) each cell's probed cells (itself first).
        members: Rows of each cell, increasing.
        error: A bound on how far a grid distance is from the exact one (both rows rounded to the grid).
        centres: (cells, features) the cell centres, on the grid (integers).
        step: The grid's step.
    """

    lists: NDArray[np.int64]
    distances: NDArray[np.float64]
    home: NDArray[np.int64]
    probes: NDArray[np.int64]
    members: tuple[NDArray[np.int64], ...]
    error: float
    centres: NDArray[np.float64]
    step: float

    def reach(self, point: NDArray[np.float64], cell: int) -> NDArray[np.float64]:
        """Per cell, a distance within which `point` (a row whose home is `cell`) has no row of that cell; -inf
        for `cell`'s probes, whose rows are all candidates. So the nearest candidate, when it is nearer than
        every other cell's reach, is the nearest row of all (see :func:`certified_knn`'s bisector bound).

        A row ``x`` of cell ``c`` is, on the grid, no farther from ``c`` than from the home centre ``h`` (the cells
        are assigned in exact arithmetic), so it lies beyond their bisecting hyperplane and
        ``|g(q) - g(x)| >= (|g(q) - c|^2 - |g(q) - h|^2) / (2 |c - h|)``; the numerator is an exact integer.
        Rounding both rows to the grid moves their distance by at most :attr:`error`.
        """
        g = np.rint(np.asarray(point, dtype=np.float64) / self.step)
        # |g - c|^2 - |g|^2, exact integers (so in any order of summation). Not a matrix product: find_copies asks
        # this between stretches of Python, and each time BLAS woke its threads for a product of a few thousand cells.
        to_centres = self._centre_norms - 2.0 * (self.centres * g).sum(axis=1)
        gaps = self._gaps(cell)
        # The root and the division round by a few ulps: shrink by far more than that, so the reach stays a
        # lower bound, and again by the grid's error.
        reach = (to_centres - to_centres[cell]) / (2.0 * gaps) * self.step * (1.0 - 1e-9) - self.error * (1.0 + 1e-9)
        reach[self.probes[cell]] = -np.inf
        return reach

    @cached_property
    def _centre_norms(self) -> NDArray[np.float64]:
        return (self.centres * self.centres).sum(axis=1)

    @cached_property
    def _gaps_of(self) -> dict[int, NDArray[np.float64]]:
        return {}

    def _gaps(self, cell: int) -> NDArray[np.float64]:
        """|c - h| from `cell`'s centre h to every centre c, computed once per cell (every certificate of a row at
        home in `cell` needs them: at 1M rows, recomputing them was half of each certificate)."""
        gaps = self._gaps_of.get(cell)
        if gaps is None:
            h = self.centres[cell]
            # Exact integers before the root (summed by numpy, as in reach: no BLAS threads to wake).
            gaps = np.sqrt(np.maximum(self._centre_norms - 2.0 * (self.centres * h).sum(axis=1) + float(h @ h), 1.0))
            self._gaps_of[cell] = gaps
        return gaps

    def candidates(self, row: int) -> NDArray[np.int64]:
        """Every candidate of `row` (the rows of its home cell's probes), increasing."""
        return self.cell_candidates(int(self.home[row]))

    def cell_candidates(self, cell: int) -> NDArray[np.int64]:
        """The rows of `cell`'s probes, increasing."""
        return np.sort(np.concatenate([self.members[c] for c in self.probes[cell]]))


def approximate_knn(
    points: NDArray[np.float64], k: int, *, probes: int | None = None, rows_per_cell: int | None = None,
    seed: int = 0, progress: Callable[[int, int], None] | None = None, threads: int | None = None,
) -> ApproximateLists:
    """Each row's ``k`` nearest rows among its candidates (the rows of its cell's ``probes`` nearest cells).

    Deterministic for given points and seed on any machine and thread count: cells, probes and the first cut
    of each list come from exact integer arithmetic on a fixed-point grid; the lists are then ordered by
    exact distances (ties by index). Unlike :func:`certified_knn` a row's true neighbour may be missing
    when it lies in a cell not probed; copy detection certifies every decision against a row (:meth:`ApproximateLists.reach`)
    and measures what the misses cost (scripts/bench_approximate.py).

    The rows' cells and the cells' lists are computed on `threads` threads (default: the cores, at most 4; numpy
    releases the GIL in products, sorts and array arithmetic) in pieces fixed by the sizes alone, each piece's
    result the same whoever computes it; BLAS is held to one thread meanwhile.
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    n = len(points)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, not {k}")
    # One BLAS thread under each of ours: on these small products BLAS's own threads mostly wait (measured at 200,000
    # rows: 30% more CPU, and slower). The limit only changes speed: every product here is exact.
    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=threads or min(os.cpu_count() or 1, 4)) as pool:
        return _approximate_knn(pool, points, k, probes, rows_per_cell, seed, progress)


def _approximate_knn(
    pool: ThreadPoolExecutor, points: NDArray[np.float64], k: int, probes: int | None, rows_per_cell: int | None,
    seed: int, progress: Callable[[int, int], None] | None,
) -> ApproximateLists:
    n = len(points)
    probes = APPROXIMATE_PROBES if probes is None else probes
    rows_per_cell = ROWS_PER_CELL if rows_per_cell is None else rows_per_cell
    step = _grid_step(points)
    grid = _on_grid(points, step)
    cells = max(1, n // max(rows_per_cell, 1))
    rng = np.random.default_rng(seed)
    # Centres from a sample of 8 rows per cell (the assignments are most of the cost; centres only
    # need to follow the data's density roughly).
    sample = grid[np.sort(rng.choice(n, size=min(n, 8 * cells), replace=False))]
    centres = sample[np.sort(rng.choice(len(sample), size=cells, replace=False))].copy()
    for _ in range(_LLOYD_STEPS):
        owner = _nearest_centres_on(pool, sample, centres)
        counts = np.bincount(owner, minlength=cells)
        sums = np.zeros_like(centres)
        np.add.at(sums, owner, sample)  # integer sums below 2**53: exact in any order
        filled = counts > 0
        centres[filled] = np.rint(sums[filled] / counts[filled, None])
    home = _nearest_centres_on(pool, grid, centres)
    order = np.argsort(home, kind="stable")
    starts = np.searchsorted(home[order], np.arange(cells + 1))
    members = tuple(order[starts[c] : starts[c + 1]] for c in range(cells))
    probes = min(probes, cells)
    centre_norms = (centres * centres).sum(axis=1)
    probe_of = np.empty((cells, probes), dtype=np.int64)
    for lo in range(0, cells, 1024):
        gaps = centre_norms[None, :] - 2.0 * (centres[lo : lo + 1024] @ centres.T)  # exact: |c|^2 dropped per row
        # The least of exact integers, ties by cell index (a stable argsort's first, without sorting every cell);
        # the home cell (gap -|h|^2, the least) first.
        probe_of[lo : lo + 1024] = _first_on_grid(gaps, probes)
    grid_norms = (grid * grid).sum(axis=1)
    lists = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k))

    def search(homes: range) -> int:
        """Fills the lists of the rows of cells `homes` (no other task writes them); returns how many."""
        rows = 0
        for h in homes:
            queries = members[h]
            if not len(queries):
                continue
            candidates = np.sort(np.concatenate([members[c] for c in probe_of[h]]))
            lists[queries], distances[queries] = _nearest_on_grid(points, grid, grid_norms, queries, candidates, k)
            rows += len(queries)
        return rows

    done = 0
    tasks = [range(lo, min(lo + _CELLS_PER_TASK, cells)) for lo in range(0, cells, _CELLS_PER_TASK)]
    for rows in pool.map(search, tasks):
        done += rows
        if progress is not None:
            progress(done, n)
    # Rounding each coordinate to the grid moves a row by at most sqrt(d) step / 2: a grid distance is
    # within sqrt(d) step of the exact one.
    error = float(np.sqrt(points.shape[1])) * step
    return ApproximateLists(lists, distances, home, probe_of, members, error, centres, step)


def _nearest_on_grid(
    points: NDArray[np.float64], grid: NDArray[np.float64], grid_norms: NDArray[np.float64],
    queries: NDArray[np.int64], candidates: NDArray[np.int64], k: int,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The k nearest of `candidates` to each query and their exact distances: cut to k + 8 by exact grid distances
    (ties by row index), then ordered by exact distances (ties by row index). Fewer than k candidates: padded
    with the nearest."""
    keep = min(len(candidates), k + 8)
    if keep < len(candidates):
        # [q, 1] . [-2 c, |c|^2] = |c|^2 - 2 q.c, the grid distance less |q|^2, in one product: every partial sum is
        # an integer of at most 2 |q| |c| + |c|^2 <= 3 d 4**b < 2**53 (see _grid_step), so exact in any order.
        against = np.empty((len(candidates), grid.shape[1] + 1))
        np.multiply(grid[candidates], -2.0, out=against[:, :-1])
        against[:, -1] = grid_norms[candidates]
        part = np.empty((len(queries), keep), dtype=np.int64)
        for lo in range(0, len(queries), _GRID_QUERIES):
            chunk = queries[lo : lo + _GRID_QUERIES]
            q = np.ones((len(chunk), grid.shape[1] + 1))
            q[:, :-1] = grid[chunk]
            part[lo : lo + len(chunk)] = _first_on_grid(q @ against.T, keep)
    else:
        part = np.tile(np.arange(len(candidates)), (len(queries), 1))
    listed = candidates[part]
    # The candidates' rows once, then each list's rows from that block (in cache) rather than from all rows.
    exact = np.linalg.norm(points[candidates][part] - points[queries][:, None, :], axis=2)
    ranked = np.lexsort((listed, exact), axis=1)
    if keep < k:
        ranked = np.concatenate([ranked, np.repeat(ranked[:, -1:], k - keep, axis=1)], axis=1)
    ranked = ranked[:, :k]
    return np.take_along_axis(listed, ranked, axis=1), np.take_along_axis(exact, ranked, axis=1)


def _first_on_grid(squared: NDArray[np.float64], keep: int) -> NDArray[np.int64]:
    """Per row of `squared` (exact integers), the columns of its `keep` least values, ties by column."""
    # A bound on each row's keep-th least value: the keep-th least of the minima of at least keep disjoint sets of
    # columns (keep sets each hold a value at or below it; a column left out of every set changes nothing). The few
    # values at or below it are then ordered by (value, column) and the first keep taken: the result is the same
    # for any such sets, and ties never depend on a selection algorithm. Halving pairs columns up into 2-4 keep sets.
    rows, columns = squared.shape
    minima = squared
    while minima.shape[1] >= 4 * keep:
        half = minima.shape[1] // 2
        minima = np.minimum(minima[:, :half], minima[:, half : 2 * half])
    bound = np.partition(minima, keep - 1, axis=1)[:, keep - 1]
    at = np.flatnonzero(squared <= bound[:, None])  # row-major: rows increasing, each row's columns in order
    row, col = np.divmod(at, columns)
    # A stable sort by (row, value) leaves ties by column.
    ranked = np.lexsort((squared.ravel()[at], row))
    first = np.searchsorted(row, np.arange(rows))
    return col[ranked[(first[:, None] + np.arange(keep)[None, :]).ravel()]].reshape(rows, keep)

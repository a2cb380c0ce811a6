"""The certified cell search returns the exact nearest rows, and copy detection decides the same with it."""

from __future__ import annotations

import numpy as np
import pytest

from openledger_chain.attribution import cells
from openledger_chain.attribution import dedup as dedup_mod
from openledger_chain.attribution.cells import certified_knn
from openledger_chain.attribution.dedup import NeighbourIndex, find_copies

from test_dedup import brute_force, random_case


def exact_distances(x: np.ndarray, k: int) -> np.ndarray:
    """Each row's k smallest distances, by the definition (every pair, computed directly)."""
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)
    return np.sort(d, axis=1)[:, :k]


def clustered(seed: int, n: int, d: int, clusters: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d)) * 6
    return centres[rng.integers(clusters, size=n)] + rng.normal(size=(n, d))


def planted_copies_round() -> tuple[np.ndarray, ...]:
    """4,000 clustered honest rows in 40 contributions of 100, then 400 copies of random honest rows moved
    0.1-0.5 of their spacing (distance to their nearest row) in 4 contributions: (x, y, group, reference,
    reference y), no reference rows."""
    rng = np.random.default_rng(11)
    honest = clustered(11, 4000, 10, 30)
    sources = rng.choice(len(honest), size=400, replace=False)
    nearest = np.sort(np.linalg.norm(honest[sources][:, None] - honest[None], axis=2), axis=1)[:, 1]
    direction = rng.normal(size=(400, 10))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    copies = honest[sources] + direction * (rng.uniform(0.1, 0.5, size=400) * nearest)[:, None]
    x = np.vstack([honest, copies])
    group = np.concatenate([np.repeat(np.arange(40), 100), np.repeat(np.arange(40, 44), 100)])
    return x, np.zeros(len(x), dtype=np.int64), group, np.zeros((0, 10)), np.zeros(0, dtype=np.int64)


@pytest.mark.parametrize(
    ("n", "d", "clusters", "k"),
    [(1500, 3, 8, 32), (1200, 12, 1, 32), (900, 1, 3, 5), (700, 6, 20, 1), (40, 2, 2, 40)],
)
def test_the_lists_hold_exactly_the_nearest_rows(n: int, d: int, clusters: int, k: int) -> None:
    x = clustered(n + d, n, d, clusters)
    got = certified_knn(x, k, rows_per_cell=32)
    assert got.shape == (n, k)
    assert np.array_equal(np.linalg.norm(x[got] - x[:, None, :], axis=2), exact_distances(x, k))
    assert (got[:, 0] == np.arange(n)).all()  # no exact repeats here: each row is its own nearest


def test_ties_and_repeats_on_a_lattice() -> None:
    """Many rows at the same distance and repeated rows: the distances are still the exact k smallest,
    and among rows at the same distance the earlier comes first."""
    grid = np.array([[i, j] for i in range(30) for j in range(30)], dtype=np.float64)
    x = np.vstack([grid, grid[::7]])
    got = certified_knn(x, 12, rows_per_cell=16)
    dist = np.linalg.norm(x[got] - x[:, None, :], axis=2)
    assert np.array_equal(dist, exact_distances(x, 12))
    same = dist[:, 1:] == dist[:, :-1]
    assert (got[:, 1:][same] > got[:, :-1][same]).all()


def test_the_answer_does_not_depend_on_the_cells() -> None:
    """Centres only decide how much is searched: other seeds, cell sizes or centres that fit the data
    badly give the same lists."""
    x = clustered(3, 3000, 8, 12)
    first = certified_knn(x, 16)
    assert np.array_equal(certified_knn(x, 16, seed=99, rows_per_cell=50), first)
    assert np.array_equal(certified_knn(x, 16, rows_per_cell=3000), first)  # one cell: a plain exact search


def test_badly_placed_centres_still_give_exact_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Centres far from the data (every row nearly equidistant to several) force the certificate to
    search more, never to miss."""
    x = clustered(5, 2000, 4, 6)
    monkeypatch.setattr(cells, "_centres", lambda points, count, seed: np.random.default_rng(seed).normal(
        size=(count, points.shape[1])) * 100)
    got = certified_knn(x, 8, rows_per_cell=40)
    assert np.array_equal(np.linalg.norm(x[got] - x[:, None, :], axis=2), exact_distances(x, 8))


def test_k_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="k must be in 1..3"):
        certified_knn(np.zeros((3, 2)), 4)


@pytest.mark.parametrize("seed", range(30))
def test_copy_detection_decides_the_same_with_either_search(seed: int) -> None:
    x, y, group, reference, ref_y = random_case(seed)
    outcome = {}
    for search in ("sklearn", "cells"):
        index = NeighbourIndex(x, reference, 25.0, search=search)
        outcome[search] = find_copies(x, y, group, reference, ref_y, copy_ratio=0.5, outlier_bound=25.0, index=index)
    assert outcome["cells"].reason.tolist() == outcome["sklearn"].reason.tolist()
    assert outcome["cells"].parent.tolist() == outcome["sklearn"].parent.tolist()
    assert outcome["cells"].derivative_of == outcome["sklearn"].derivative_of
    reason, _ = brute_force(x, y, group, reference, ref_y, 0.5, 25.0)
    assert outcome["cells"].reason.tolist() == reason


def test_planted_copies_on_a_larger_round_are_all_caught_by_both() -> None:
    """4,000 honest rows in 40 contributions and 400 copies moved 0.1-0.5 of the spacing: the cell
    search misses none that scikit-learn's search catches (the miss rate the issue asks for is 0 by design)."""
    x, y, group, reference, ref_y = planted_copies_round()
    sk = find_copies(x, y, group, reference, ref_y, copy_ratio=0.5, outlier_bound=50.0,
                       index=NeighbourIndex(x, reference, 50.0, search="sklearn"))
    cell = find_copies(x, y, group, reference, ref_y, copy_ratio=0.5, outlier_bound=50.0,
                       index=NeighbourIndex(x, reference, 50.0, search="cells"))
    assert cell.reason.tolist() == sk.reason.tolist()
    assert (cell.reason[4000:] != 0).all()  # every planted copy excluded


def test_on_data_cells_cannot_split_auto_leaves_the_search_to_scikit_learn(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Gaussian blob with as many degrees of freedom as features: a sample of cells searches most of
    the rows, so the cell search gives up (None) and "auto" takes scikit-learn's lists; clustered
    data keeps the cell search."""
    blob = np.random.default_rng(2).normal(size=(3000, 12))
    plan = cells.plan_cells(blob, 16, rows_per_cell=50)
    assert cells.searched_fraction(blob, plan) > 0.25
    assert certified_knn(blob, 16, rows_per_cell=50, give_up_above=0.25) is None
    tight = clustered(2, 3000, 3, 30)
    assert certified_knn(tight, 16, rows_per_cell=50, give_up_above=0.25) is not None
    monkeypatch.setattr(dedup_mod, "CELL_SEARCH_FROM_ROWS", 1000)
    calls: list[str] = []
    real = cells.certified_knn
    monkeypatch.setattr(dedup_mod, "certified_knn", lambda *a, **kw: calls.append("cells") or real(*a, **kw))
    index = NeighbourIndex(blob, np.zeros((0, 12)), 1e9)
    assert calls == ["cells"]  # tried, gave up
    by_sklearn = NeighbourIndex(blob, np.zeros((0, 12)), 1e9, search="sklearn")
    assert np.array_equal(index.rows, by_sklearn.rows)

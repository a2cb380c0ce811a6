"""The contributor-level threshold-KNN game (methods/contributor_knn.py) against brute force on tiny sets."""

from __future__ import annotations

import numpy as np
import pytest
from _bruteforce import shapley

from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.methods import TKNNShapley
from openledger_chain.attribution.methods.contributor_knn import (
    ContributorKNN, contributor_knn_values, contributor_totals, representatives,
)
from openledger_chain.attribution.utility import squared_distances


def make_data(n: int, n_eval: int, seed: int, classes: int = 2, dims: int = 3) -> tuple[Dataset, Dataset]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(classes, dims))
    ytr, yev = rng.integers(0, classes, n), rng.integers(0, classes, n_eval)
    return (Dataset(centers[ytr] + rng.normal(size=(n, dims)), ytr),
            Dataset(centers[yev] + rng.normal(size=(n_eval, dims)), yev))


class ContributorUtility:
    """U(T) of the contributor-level game, straight from its definition: per evaluation point, each
    contributor of T is its nearest row (lowest row index on ties); the representatives within tau
    are neighbours, the k nearest vote (ties by contributor), the score is the fraction with the
    point's label, 1/C without neighbours; the mean over points."""

    def __init__(self, train: Dataset, owner: np.ndarray, ev: Dataset, tau: float | None, k: int | None, n_classes: int) -> None:
        self.players = np.unique(owner)
        self.owner, self.train, self.ev = owner, train, ev
        self.tau, self.k, self.n_classes = tau, k, n_classes
        self.d2 = squared_distances(ev.x, train.x)

    def representative(self, t: int, player: int) -> int:
        rows = np.flatnonzero(self.owner == self.players[player])
        return int(rows[np.argmin(self.d2[t, rows])])  # argmin: the first (lowest index) of equal minima

    def __call__(self, coalition: np.ndarray) -> float:
        scores = []
        for t in range(len(self.ev)):
            reps = [(self.d2[t, r], int(p), r) for p in coalition for r in [self.representative(t, int(p))]]
            near = sorted(e for e in reps if self.tau is None or e[0] <= self.tau**2)  # by distance, then contributor
            voters = near if self.k is None else near[: self.k]
            scores.append(np.mean([self.train.y[r] == self.ev.y[t] for _, _, r in voters]) if voters else 1 / self.n_classes)
        return float(np.mean(scores))


def brute_force(train: Dataset, owner: np.ndarray, ev: Dataset, tau: float | None, k: int | None, n_classes: int) -> np.ndarray:
    utility = ContributorUtility(train, owner, ev, tau, k, n_classes)
    return shapley(utility, len(utility.players))


def totals(values: np.ndarray, owner: np.ndarray) -> np.ndarray:
    return np.array(list(contributor_totals(values, owner).values()))


@pytest.mark.parametrize("k", [None, 1, 2, 3, 5])
@pytest.mark.parametrize("tau", [1.0, 2.0, 3.5, None])
@pytest.mark.parametrize("seed, classes", [(0, 2), (1, 3), (2, 2)])
def test_contributor_values_equal_brute_force_shapley(k: int | None, tau: float | None, seed: int, classes: int) -> None:
    train, ev = make_data(16, 5, seed, classes=classes)
    owner = np.random.default_rng(seed + 100).integers(0, 6, len(train)) * 3 + 7  # 6 contributors, arbitrary ids
    values = contributor_knn_values(train, owner, ev, tau, k, n_classes=classes)
    exact = brute_force(train, owner, ev, tau, k, classes)
    np.testing.assert_allclose(totals(values, owner), exact, rtol=0, atol=1e-9)
    # Efficiency: the contributors' values sum to U(all) - U(empty), U(empty) = 1/C.
    u = ContributorUtility(train, owner, ev, tau, k, classes)
    assert values.sum() == pytest.approx(u(np.arange(len(u.players))) - 1 / classes, abs=1e-12)
    result = ContributorKNN(ev, owner, tau, k, n_classes=classes).fit(train).result
    np.testing.assert_array_equal(result.values, values)
    assert result.utility_all == pytest.approx(u(np.arange(len(u.players))), abs=1e-12)


def test_ties_between_and_within_contributors() -> None:
    """Integer lattice: equal distances everywhere. Duplicate rows within a contributor (the lower
    index represents it), the same row held by two contributors (the earlier contributor votes
    first), and contributors tied with others' representatives at the radius."""
    rng = np.random.default_rng(5)
    x = rng.integers(-2, 3, size=(14, 2)).astype(float)
    x[7] = x[2]  # the same point under two contributors
    x[9] = x[8]  # a duplicate within one contributor, other label
    y = rng.integers(0, 2, 14)
    y[9] = 1 - y[8]
    ev = Dataset(rng.integers(-2, 3, size=(6, 2)).astype(float), rng.integers(0, 2, 6))
    owner = np.array([0, 0, 1, 1, 2, 2, 3, 4, 5, 5, 0, 4, 3, 5])
    train = Dataset(x, y)
    d2 = squared_distances(ev.x, x)
    assert (d2[:, :, None] == d2[:, None, :]).sum() - d2.size >= d2.size  # on average a tie per (point, row)
    for tau, k in [(None, 2), (2.0, 3), (np.sqrt(5.0), None), (1.0, 1), (None, None)]:
        values = contributor_knn_values(train, owner, ev, tau, k)
        np.testing.assert_allclose(totals(values, owner), brute_force(train, owner, ev, tau, k, 2), atol=1e-9)


def test_values_land_on_representatives_only() -> None:
    train, ev = make_data(30, 4, 3)
    owner = np.arange(30) % 5
    values = contributor_knn_values(train, owner, ev, 3.0, 3)
    _, rep = representatives(squared_distances(ev.x, train.x[np.argsort(owner, kind="stable")]),
                             np.arange(0, 30, 6))
    reps = np.argsort(owner, kind="stable")[np.unique(rep)]
    others = np.setdiff1d(np.arange(30), reps)
    assert np.all(values[others] == 0.0)


def test_one_row_per_contributor_is_row_level_tknn_shapley() -> None:
    """With a row per contributor (in row order) the game is row-level TKNN-Shapley."""
    train, ev = make_data(40, 12, 4, classes=3)
    for tau, k in [(2.5, 5), (None, 3), (1.5, None)]:
        expected = TKNNShapley(ev, tau, k, n_classes=3).fit(train).result.values
        np.testing.assert_allclose(contributor_knn_values(train, np.arange(40), ev, tau, k, n_classes=3), expected, atol=1e-12)


def test_rows_never_nearer_than_the_contributors_own_change_nothing() -> None:
    """Padding with rows that never beat the contributor's nearest row leaves every value as it was:
    what the game is for."""
    train, ev = make_data(20, 6, 6)
    owner = np.arange(20) % 4
    before = totals(contributor_knn_values(train, owner, ev, 3.0, 3), owner)
    pad = Dataset(np.vstack([train.x, train.x[owner == 2] * 50.0 + 80.0]),
                  np.concatenate([train.y, 1 - train.y[owner == 2]]))
    owner_pad = np.concatenate([owner, np.full(int((owner == 2).sum()), 2)])
    np.testing.assert_allclose(totals(contributor_knn_values(pad, owner_pad, ev, 3.0, 3), owner_pad), before, atol=1e-12)


@pytest.mark.parametrize("tau, k", [(2.0, 2), (None, 3), (3.0, None)])
def test_relabelled_values_equal_brute_force_of_the_relabelled_set(tau: float | None, k: int | None) -> None:
    """V[r, c]: the row's value with label c, all else unchanged (what the noise test uses)."""
    train, ev = make_data(14, 5, 7, classes=3)
    owner = np.arange(14) % 5
    result = ContributorKNN(ev, owner, tau, k, n_classes=3).fit(train).result
    for row in (0, 3, 8, 13):
        for label in range(3):
            y = train.y.copy()
            y[row] = label
            relabelled = contributor_knn_values(Dataset(train.x, y), owner, ev, tau, k, n_classes=3)
            assert result.relabel_values[row, label] == pytest.approx(relabelled[row], abs=1e-12)


def test_chunking_invariant(monkeypatch: pytest.MonkeyPatch) -> None:
    from openledger_chain.attribution import kernel as mod

    train, ev = make_data(300, 40, 8, classes=3)
    owner = np.arange(300) % 17
    values = contributor_knn_values(train, owner, ev, 2.5, 5, n_classes=3)
    monkeypatch.setattr(mod, "_CHUNK_ELEMENTS", 700)  # 2 evaluation points per chunk
    np.testing.assert_allclose(contributor_knn_values(train, owner, ev, 2.5, 5, n_classes=3, n_jobs=2), values, atol=1e-12)

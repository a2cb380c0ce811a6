"""TKNN-Shapley on a baseline of always-present rows, and cohort valuation, against brute-force Shapley."""

from __future__ import annotations

import numpy as np
import pytest

from openledger_chain.attribution import attribute
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.errors import InputError
from openledger_chain.attribution.methods import TKNNShapley
from openledger_chain.attribution.methods.knn_shapley import relabel_values
from openledger_chain.attribution.methods.tknn_baseline import tknn_cohort_values, tknn_shapley_values_on_baseline
from openledger_chain.attribution.methods.tknn_shapley import tknn_shapley_values
from openledger_chain.attribution.utility import TKNNUtility

from _bruteforce import shapley


def baseline_game(baseline: Dataset, new: Dataset, ev: Dataset, tau: float | None, k: int | None, classes: int):
    """V(S) = U(baseline + S) over the new rows, S given as indices into `new`."""
    pooled = Dataset(np.vstack([baseline.x, new.x]), np.concatenate([baseline.y, new.y]))
    utility = TKNNUtility(pooled, ev, tau, k, n_classes=classes)
    always = np.arange(len(baseline))
    return lambda subset: utility(np.concatenate([always, len(baseline) + np.asarray(subset, dtype=np.int64)]))


def lattice(rng: np.random.Generator, n: int, classes: int) -> Dataset:
    """Rows on a 3x3 lattice: many exact distance ties, between baseline and new rows too."""
    return Dataset(rng.integers(0, 3, size=(n, 2)).astype(float), rng.integers(0, classes, size=n))


@pytest.mark.parametrize("seed", range(60))
def test_values_on_a_baseline_equal_brute_force_shapley(seed: int) -> None:
    rng = np.random.default_rng(seed)
    classes = int(rng.integers(2, 4))
    baseline, new = lattice(rng, int(rng.integers(0, 7)), classes), lattice(rng, int(rng.integers(1, 7)), classes)
    ev = lattice(rng, 3, classes)
    tau = [None, 1.0, 1.5, 2.5][seed % 4]
    k = [None, 1, 2, 3, 5][seed % 5]
    exact = shapley(baseline_game(baseline, new, ev, tau, k, classes), len(new))
    values = tknn_shapley_values_on_baseline(baseline, new, ev, tau, k, n_classes=classes)
    np.testing.assert_allclose(values, exact, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", range(12))
def test_relabelled_values_on_a_baseline_equal_brute_force(seed: int) -> None:
    """The noise test's input: each new row's value under every label, the other rows unchanged."""
    rng = np.random.default_rng(100 + seed)
    classes = 3
    baseline, new, ev = lattice(rng, int(rng.integers(1, 6)), classes), lattice(rng, 4, classes), lattice(rng, 3, classes)
    tau, k = [(None, 2), (1.5, 3), (2.5, None)][seed % 3]
    stacked = tknn_shapley_values_on_baseline(baseline, new, ev, tau, k, n_classes=classes, n_labels=classes)
    _, relabelled = relabel_values(stacked.reshape(1 + classes, len(new)), new.y)
    for i in range(len(new)):
        for c in range(classes):
            y = new.y.copy()
            y[i] = c
            exact = shapley(baseline_game(baseline, Dataset(new.x, y), ev, tau, k, classes), len(new))[i]
            assert relabelled[i, c] == pytest.approx(exact, abs=1e-12)


def test_empty_baseline_is_plain_tknn_shapley() -> None:
    rng = np.random.default_rng(7)
    train, ev = Dataset(rng.normal(size=(300, 4)), rng.integers(0, 3, 300)), Dataset(rng.normal(size=(50, 4)), rng.integers(0, 3, 50))
    empty = Dataset(np.zeros((0, 4)), np.zeros(0, dtype=np.int64))
    for tau, k in [(None, 5), (1.5, 5), (2.0, None)]:
        np.testing.assert_allclose(tknn_shapley_values_on_baseline(empty, train, ev, tau, k, n_classes=3),
                                   tknn_shapley_values(train, ev, tau, k, n_classes=3), rtol=0, atol=1e-14)


def test_cohort_values_telescope_and_ignore_later_cohorts() -> None:
    """Cohort c's values sum to U(cohorts <= c) - U(cohorts < c); nothing a later cohort adds changes
    an earlier cohort's values."""
    rng = np.random.default_rng(3)
    train, ev = Dataset(rng.normal(size=(200, 3)), rng.integers(0, 2, 200)), Dataset(rng.normal(size=(40, 3)), rng.integers(0, 2, 40))
    cohort = np.repeat([0, 1, 2], [80, 70, 50])
    values = tknn_cohort_values(train, cohort, ev, 1.2, 5)
    utility = TKNNUtility(train, ev, 1.2, 5)
    for c in range(3):
        gain = utility(np.flatnonzero(cohort <= c)) - utility(np.flatnonzero(cohort < c))
        assert values[cohort == c].sum() == pytest.approx(gain, abs=1e-12)
    first = tknn_shapley_values(train.subset(np.arange(80)), ev, 1.2, 5)
    np.testing.assert_allclose(values[:80], first, rtol=0, atol=1e-14)
    result = TKNNShapley(ev, 1.2, 5, cohort=cohort).fit(train).result
    np.testing.assert_allclose(result.values, values, rtol=0, atol=1e-14)
    assert result.utility_all == pytest.approx(utility(np.arange(200)), abs=1e-12)


def _write(path, x: np.ndarray, y: np.ndarray) -> None:
    path.write_text("a,b,label\n" + "".join(f"{r[0]!r},{r[1]!r},{int(v)}\n" for r, v in zip(x.tolist(), y.tolist())))


def test_engine_values_each_cohort_on_top_of_the_earlier_ones(tmp_path) -> None:
    """With cohorts, the earlier cohort's values are those of a round without the later contributions
    (nothing registered later can lower them), and the cohorts are recorded for recomputation."""
    rng = np.random.default_rng(5)
    centers = np.array([[0.0, 0.0], [3.0, 3.0]])
    def rows(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 2, n)
        return centers[y] + rng.normal(size=(n, 2)), y
    _write(tmp_path / "eval.csv", *rows(60))
    manifest = []
    for i in range(4):
        _write(tmp_path / f"c{i}.csv", *rows(40))
        manifest.append({"id": f"c{i}", "contributor": f"0x{i + 1:040x}", "kind": "data", "path": f"c{i}.csv"})
    spec = {"label": "label", "method": {"name": "tknn_shapley"}, "kind_shares_bps": {"data": 10000}}
    cohorts = {"c0": 0, "c1": 0, "c2": 1, "c3": 1}
    report = attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path, emission=10**18, cohorts=cohorts)
    assert report.method["cohorts"] == cohorts
    earlier_only = attribute(spec, manifest[:2], tmp_path / "eval.csv", base_dir=tmp_path, emission=10**18)
    by_id = {v.id: v.value for v in report.contributions}
    assert [by_id["c0"], by_id["c1"]] == pytest.approx([v.value for v in earlier_only.contributions], abs=1e-12)
    with pytest.raises(InputError, match="has no cohort"):
        attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path, cohorts={"c0": 0})
    with pytest.raises(InputError, match="need method tknn_shapley"):
        attribute(spec | {"method": {"name": "knn_shapley"}}, manifest, tmp_path / "eval.csv", base_dir=tmp_path, cohorts=cohorts)

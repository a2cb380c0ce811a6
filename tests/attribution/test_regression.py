"""Regression (``task: "regression"``): exact KNN-Shapley of the KNN regressor against brute force,
the target-noise null, and the engine's defences on continuous targets."""

from __future__ import annotations

import numpy as np
import pytest
from _bruteforce import shapley

from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.methods.knn_regression_shapley import KNNRegressionShapley
from openledger_chain.attribution.utility import KNNRegressionUtility


def tiny(seed: int) -> tuple[Dataset, Dataset, int]:
    """A random tiny instance: 1-7 rows, 1-3 evaluation points, K in 1..6; half of them on an integer
    grid (exact distance ties, duplicate rows), some with repeated integer targets."""
    rng = np.random.default_rng(seed)
    n, n_eval, k, dims = int(rng.integers(1, 8)), int(rng.integers(1, 4)), int(rng.integers(1, 7)), int(rng.integers(1, 3))
    if seed % 2:
        xtr, xev = rng.integers(0, 3, (n, dims)).astype(float), rng.integers(0, 3, (n_eval, dims)).astype(float)
    else:
        xtr, xev = rng.normal(size=(n, dims)), rng.normal(size=(n_eval, dims))
    ytr = rng.integers(-2, 3, n).astype(float) if seed % 3 == 0 else rng.normal(size=n) * 3
    return Dataset(xtr, ytr), Dataset(xev, rng.normal(size=n_eval)), k


@pytest.mark.parametrize("seed", range(200))
def test_values_equal_brute_force_shapley(seed: int) -> None:
    train, ev, k = tiny(seed)
    exact = shapley(KNNRegressionUtility(train, ev, k), len(train))
    result = KNNRegressionShapley(ev, k).fit(train).result
    np.testing.assert_allclose(result.values, exact, rtol=0, atol=1e-10)
    u = KNNRegressionUtility(train, ev, k)
    assert result.utility_none == pytest.approx(u(np.arange(0)), abs=1e-12)
    assert result.utility_all == pytest.approx(u(np.arange(len(train))), abs=1e-10)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 9])
def test_eight_rows_with_duplicates_every_k(k: int) -> None:
    """8 rows (255 subsets), two exact duplicate pairs and equal targets, 5 evaluation points."""
    rng = np.random.default_rng(k)
    x = rng.normal(size=(8, 2))
    x[5], x[7] = x[1], x[2]
    y = rng.normal(size=8)
    y[6] = y[3]
    train, ev = Dataset(x, y), Dataset(rng.normal(size=(5, 2)), rng.normal(size=5))
    np.testing.assert_allclose(KNNRegressionShapley(ev, k).fit(train).result.values,
                               shapley(KNNRegressionUtility(train, ev, k), 8), rtol=0, atol=1e-10)


@pytest.mark.parametrize("seed", range(40))
def test_value_is_the_stated_quadratic_in_the_own_target(seed: int) -> None:
    """relabel_values (b, c): row i's value with target y, all else fixed, is v_i + b (y - y_i) + c (y^2 - y_i^2)."""
    train, ev, k = tiny(seed)
    result = KNNRegressionShapley(ev, k).fit(train).result
    rng = np.random.default_rng(1000 + seed)
    i = int(rng.integers(0, len(train)))
    y = train.y.copy()
    y[i] = rng.normal() * 4
    moved = shapley(KNNRegressionUtility(Dataset(train.x, y), ev, k), len(train))
    b, c = result.relabel_values[i]
    assert result.values[i] + b * (y[i] - train.y[i]) + c * (y[i] ** 2 - train.y[i] ** 2) == pytest.approx(moved[i], abs=1e-10)


def test_many_rows_is_deterministic_and_efficient() -> None:
    """Chunked over evaluation points and threads, the sum is the same bits each run and the values add up."""
    rng = np.random.default_rng(5)
    train = Dataset(rng.normal(size=(3000, 4)), rng.normal(size=3000))
    ev = Dataset(rng.normal(size=(900, 4)), rng.normal(size=900))
    a = KNNRegressionShapley(ev, 5, n_jobs=3).fit(train).result
    b = KNNRegressionShapley(ev, 5, n_jobs=1).fit(train).result
    assert np.array_equal(a.values, b.values)
    u = KNNRegressionUtility(train, ev, 5)
    assert a.values.sum() == pytest.approx(u(np.arange(3000)) - u(np.arange(0)), abs=1e-9)

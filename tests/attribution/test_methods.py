"""Every method against the brute-force definition (all subsets) on tiny sets."""

from __future__ import annotations

import importlib.util
from functools import partial
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from _bruteforce import banzhaf, shapley
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from openledger_chain.attribution.base import NotFittedError
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.methods import DataBanzhaf, KNNShapley, LeaveOneOut, TKNNShapley, TMCShapley
from openledger_chain.attribution.utility import KNNUtility, ModelUtility, TKNNUtility


def _pydvl_reference() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pydvl_reference", Path(__file__).parents[2] / "scripts" / "pydvl_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_data(n: int, n_eval: int, seed: int, classes: int = 2, dims: int = 3) -> tuple[Dataset, Dataset]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(classes, dims))
    ytr, yev = rng.integers(0, classes, n), rng.integers(0, classes, n_eval)
    xtr = centers[ytr] + rng.normal(size=(n, dims))
    xev = centers[yev] + rng.normal(size=(n_eval, dims))
    return Dataset(xtr, ytr), Dataset(xev, yev)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 9])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_knn_shapley_equals_brute_force_shapley(k: int, seed: int) -> None:
    train, ev = make_data(8, 6, seed, classes=3)
    exact = shapley(KNNUtility(train, ev, k), len(train))
    values = KNNShapley(ev, k).fit(train).result.values
    np.testing.assert_allclose(values, exact, rtol=0, atol=1e-9)


def test_knn_shapley_with_duplicate_rows_and_ties() -> None:
    """Exact duplicates tie in distance; the stable sort orders them by index in both the
    recursion and the brute-force utility, so values still agree exactly."""
    train, ev = make_data(6, 5, 3)
    x = np.vstack([train.x, train.x[:2]])
    y = np.concatenate([train.y, 1 - train.y[:1], train.y[1:2]])
    dup = Dataset(x, y)
    exact = shapley(KNNUtility(dup, ev, 3), len(dup))
    np.testing.assert_allclose(KNNShapley(ev, 3).fit(dup).result.values, exact, atol=1e-9)


def test_knn_shapley_is_efficient_and_chunking_invariant(monkeypatch: pytest.MonkeyPatch) -> None:
    from openledger_chain.attribution import kernel as mod

    train, ev = make_data(300, 40, 4)
    result = KNNShapley(ev, 5).fit(train).result
    u_all = KNNUtility(train, ev, 5)(np.arange(300))
    assert result.values.sum() == pytest.approx(u_all, abs=1e-12)
    monkeypatch.setattr(mod, "_CHUNK_ELEMENTS", 700)  # forces 2 eval points per chunk
    np.testing.assert_allclose(KNNShapley(ev, 5, n_jobs=2).fit(train).result.values, result.values, atol=1e-12)


def test_knn_shapley_matches_pydvl() -> None:
    """Against pyDVL 0.10.0, which runs in its own venv (it requires NumPy < 2): scripts/pydvl_reference.py."""
    train, ev = make_data(400, 60, 5, classes=3, dims=4)
    ours = KNNShapley(ev, 5).fit(train).result.values
    theirs, _ = _pydvl_reference().pydvl_knn_shapley(train.x, train.y, ev.x, ev.y, 5)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    assert np.abs(theirs).max() > 1e-3  # pyDVL valued the rows: not an empty or zero answer


@pytest.mark.parametrize("k", [None, 1, 2, 3, 5, 9])
@pytest.mark.parametrize("tau", [0.8, 1.5, 3.0, None])
@pytest.mark.parametrize("seed, classes", [(0, 2), (1, 3), (2, 3)])
def test_tknn_shapley_equals_brute_force_shapley(k: int | None, tau: float | None, seed: int, classes: int) -> None:
    train, ev = make_data(8, 6, seed, classes=classes)
    utility = TKNNUtility(train, ev, tau, k, n_classes=classes)
    exact = shapley(utility, len(train))
    result = TKNNShapley(ev, tau, k, n_classes=classes).fit(train).result
    np.testing.assert_allclose(result.values, exact, rtol=0, atol=1e-9)
    # Efficiency: the values sum to U(all) - U(empty), and U(empty) is the 1/C guess.
    assert result.utility_none == pytest.approx(1 / classes)
    assert result.utility_all == pytest.approx(utility(np.arange(len(train))), abs=1e-12)


def test_tknn_shapley_with_duplicate_rows_and_ties() -> None:
    train, ev = make_data(6, 5, 3)
    dup = Dataset(np.vstack([train.x, train.x[:2]]), np.concatenate([train.y, 1 - train.y[:1], train.y[1:2]]))
    for tau, k in [(None, 3), (2.0, 2), (2.0, None)]:
        exact = shapley(TKNNUtility(dup, ev, tau, k), len(dup))
        np.testing.assert_allclose(TKNNShapley(ev, tau, k).fit(dup).result.values, exact, atol=1e-9)


def test_tknn_shapley_paper_closed_form_and_null_players() -> None:
    """k=None: the value only depends on the ball's counts c, c+ (Wang et al.'s closed form);
    rows farther than tau from every evaluation point are null players and get exactly 0."""
    train, ev = make_data(40, 1, 14)
    far = Dataset(np.vstack([train.x, train.x[:5] + 100.0]), np.concatenate([train.y, train.y[:5]]))
    tau = 2.0
    values = TKNNShapley(ev, tau, None, n_classes=2).fit(far).result.values
    assert np.all(values[40:] == 0.0)
    inball = np.sqrt(((far.x - ev.x[0]) ** 2).sum(axis=1)) <= tau
    m = (far.y == ev.y[0]).astype(float)
    c, cp = int(inball.sum()), float(m[inball].sum())
    assert c > 2
    harmonic_c = sum(1 / j for j in range(1, c + 1))
    expected = (m - 1 / 2 + (c * m - cp) / (c - 1) * (harmonic_c - 1)) / c
    np.testing.assert_allclose(values[inball], expected[inball], atol=1e-12)
    assert np.all(values[~inball] == 0.0)


def test_tknn_shapley_chunking_invariant(monkeypatch: pytest.MonkeyPatch) -> None:
    from openledger_chain.attribution import kernel as mod

    train, ev = make_data(300, 40, 4, classes=3)
    result = TKNNShapley(ev, 2.5, 5, n_classes=3).fit(train).result
    monkeypatch.setattr(mod, "_CHUNK_ELEMENTS", 700)  # forces 2 eval points per chunk
    again = TKNNShapley(ev, 2.5, 5, n_classes=3, n_jobs=2).fit(train).result
    np.testing.assert_allclose(again.values, result.values, atol=1e-12)


def test_tknn_uninformative_rows_earn_nothing_on_average() -> None:
    """Why tknn_shapley is the default: random-label rows far from the data earn a positive total
    under Jia et al.'s utility (a small coalition gains a vote from any matching row), but not
    under the soft-label utility (a row only helps if it beats the coalition's own accuracy)."""
    train, ev = make_data(200, 60, 15, dims=5)
    rng = np.random.default_rng(0)
    noise = Dataset(rng.normal(scale=8.0, size=(60, 5)), rng.integers(0, 2, 60))
    pooled = Dataset(np.vstack([train.x, noise.x]), np.concatenate([train.y, noise.y]))
    jia = KNNShapley(ev, 5).fit(pooled).result.values
    soft = TKNNShapley(ev, None, 5).fit(pooled).result.values
    # Jia: the 60 noise rows take ~ (match rate 1/2) x (60/260) of the total value.
    assert jia[200:].sum() / jia.sum() > 0.1
    # Soft label: about zero (their expected marginal is (1/2 - accuracy of the others) <= 0).
    assert abs(soft[200:].sum()) / soft.sum() < 0.02


@pytest.mark.parametrize("method", ["knn", "tknn-radius", "tknn-all"])
@pytest.mark.parametrize("seed", [0, 1])
def test_relabel_values_equal_brute_force_shapley_of_the_relabelled_set(method: str, seed: int) -> None:
    """V[i, c] is row i's exact Shapley value when its label is c and every other row is unchanged
    (what the label-noise test of attribution/noise.py is built on)."""
    train, ev = make_data(6, 5, seed, classes=3)
    valuation = {
        "knn": KNNShapley(ev, 3),
        "tknn-radius": TKNNShapley(ev, 2.5, 2, n_classes=3),
        "tknn-all": TKNNShapley(ev, None, None, n_classes=3),
    }[method]
    relabelled = valuation.fit(train).result.relabel_values
    assert relabelled is not None
    for i in range(len(train)):
        for c in range(relabelled.shape[1]):
            y = train.y.copy()
            y[i] = c
            moved = Dataset(train.x, y)
            utility = {
                "knn": KNNUtility(moved, ev, 3),
                "tknn-radius": TKNNUtility(moved, ev, 2.5, 2, n_classes=3),
                "tknn-all": TKNNUtility(moved, ev, None, None, n_classes=3),
            }[method]
            assert relabelled[i, c] == pytest.approx(shapley(utility, len(train))[i], abs=1e-9)


@pytest.mark.parametrize(
    "factory",
    [
        lambda ev: partial(KNNUtility, eval_data=ev, k=3),
        lambda ev: partial(ModelUtility, eval_data=ev, estimator=LogisticRegression()),
    ],
    ids=["knn", "logreg"],
)
def test_loo_equals_definition(factory) -> None:  # type: ignore[no-untyped-def]
    train, ev = make_data(7, 20, 6)
    u = factory(ev)(train)
    everything = np.arange(7)
    expected = [u(everything) - u(np.delete(everything, i)) for i in range(7)]
    np.testing.assert_allclose(LeaveOneOut(factory(ev)).fit(train).result.values, expected, atol=1e-12)


def test_loo_against_directly_fitted_sklearn_models() -> None:
    """Independent of ModelUtility: refit scikit-learn by hand for each left-out row."""
    train, ev = make_data(8, 30, 7)
    values = LeaveOneOut(partial(ModelUtility, eval_data=ev, estimator=GaussianNB())).fit(train).result.values

    def acc(idx: np.ndarray) -> float:
        return float((GaussianNB().fit(train.x[idx], train.y[idx]).predict(ev.x) == ev.y).mean())

    full = acc(np.arange(8))
    np.testing.assert_allclose(values, [full - acc(np.delete(np.arange(8), i)) for i in range(8)], atol=1e-12)


# Sampled methods: the estimate must be within 5 of its own standard errors plus 0.01 of the
# exact value. With 4000 permutations / 8000 samples on n = 6 the standard errors are ~0.005.
SAMPLED_TOLERANCE_SE = 5.0
SAMPLED_TOLERANCE_ABS = 0.01


@pytest.mark.parametrize("utility", ["knn", "logreg"])
def test_tmc_shapley_close_to_brute_force(utility: str) -> None:
    train, ev = make_data(6, 25, 8)
    factory = (
        partial(KNNUtility, eval_data=ev, k=3)
        if utility == "knn"
        else partial(ModelUtility, eval_data=ev, estimator=LogisticRegression())
    )
    exact = shapley(factory(train), 6)
    result = TMCShapley(factory, permutations=4000, truncation_tolerance=0.0, seed=1).fit(train).result
    se = np.sqrt(result.variances / result.counts)
    assert np.all(np.abs(result.values - exact) <= SAMPLED_TOLERANCE_SE * se + SAMPLED_TOLERANCE_ABS)
    # Efficiency holds per permutation without truncation.
    assert result.values.sum() == pytest.approx(result.utility_all - result.utility_none, abs=1e-9)


def test_tmc_truncation_skips_the_tail() -> None:
    train, ev = make_data(40, 30, 9)
    factory = partial(KNNUtility, eval_data=ev, k=3)
    calls = {"n": 0}

    def counting(data: Dataset):  # type: ignore[no-untyped-def]
        u = factory(data)

        def wrapped(s: np.ndarray) -> float:
            calls["n"] += 1
            return u(s)

        return wrapped

    TMCShapley(counting, permutations=10, truncation_tolerance=0.2, seed=0).fit(train)
    assert calls["n"] < 10 * 40  # some permutations were truncated


@pytest.mark.parametrize("utility", ["knn", "logreg"])
def test_banzhaf_msr_close_to_brute_force(utility: str) -> None:
    train, ev = make_data(6, 25, 10)
    factory = (
        partial(KNNUtility, eval_data=ev, k=3)
        if utility == "knn"
        else partial(ModelUtility, eval_data=ev, estimator=LogisticRegression())
    )
    exact = banzhaf(factory(train), 6)
    result = DataBanzhaf(factory, samples=8000, seed=2).fit(train).result
    se = np.sqrt(result.variances)
    assert np.all(np.abs(result.values - exact) <= SAMPLED_TOLERANCE_SE * se + SAMPLED_TOLERANCE_ABS)


@pytest.mark.parametrize("cls, kwargs", [(TMCShapley, {"permutations": 20}), (DataBanzhaf, {"samples": 50})])
def test_sampled_methods_deterministic_for_a_seed(cls, kwargs) -> None:  # type: ignore[no-untyped-def]
    train, ev = make_data(12, 10, 11)
    factory = partial(KNNUtility, eval_data=ev, k=3)
    a = cls(factory, seed=5, **kwargs).fit(train).result
    b = cls(factory, seed=5, **kwargs).fit(train).result
    c = cls(factory, seed=6, **kwargs).fit(train).result
    assert np.array_equal(a.values, b.values)
    assert not np.array_equal(a.values, c.values)
    assert a.seed == 5 and a.data_hash == train.hash()


def test_result_before_fit_raises() -> None:
    _, ev = make_data(3, 3, 0)
    with pytest.raises(NotFittedError):
        KNNShapley(ev).result


def test_model_utility_defined_scores_for_unfittable_subsets() -> None:
    train, ev = make_data(10, 20, 12)
    u = ModelUtility(train, ev, LogisticRegression())
    majority = np.bincount(ev.y).max() / len(ev)
    assert u(np.array([], dtype=int)) == pytest.approx(majority)
    one_class = np.flatnonzero(train.y == train.y[0])[:2]
    assert u(one_class) == pytest.approx(np.mean(ev.y == train.y[0]))


def test_model_utility_knn_with_fewer_rows_than_neighbours() -> None:
    from sklearn.neighbors import KNeighborsClassifier

    train, ev = make_data(10, 20, 13)
    u = ModelUtility(train, ev, KNeighborsClassifier(5))
    two = np.array([np.flatnonzero(train.y == 0)[0], np.flatnonzero(train.y == 1)[0]])
    assert 0.0 <= u(two) <= 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distance_order_and_scatter_sum_equal_their_definitions(seed: int) -> None:
    """The fast sort must be numpy's stable argsort to the last index (ties by row index), and the
    one-pass scatter must be the (points x N) scatter summed top to bottom to the last bit: on a
    coarse lattice, where most distances tie."""
    from openledger_chain.attribution.methods.knn_shapley import distance_order, scatter_sum
    from openledger_chain.attribution.utility import squared_distances

    rng = np.random.default_rng(seed)
    x_train, x_eval = rng.integers(0, 4, (500, 3)).astype(float), rng.integers(0, 4, (30, 3)).astype(float)
    d2 = squared_distances(x_eval, x_train)
    order = distance_order(d2)
    expected = np.argsort(d2, axis=1, kind="stable")
    assert (d2[:, 1:] == d2[:, :-1]).any()  # ties are exercised
    np.testing.assert_array_equal(order, expected)
    # Near ties: distances a few units in the last place apart share a packed key's high part, and -0.0
    # sorts with 0.0.
    near = rng.uniform(0, 11, (20, 3000))
    near[:, 1::7] = np.nextafter(near[:, ::7][:, : near[:, 1::7].shape[1]], 20.0)
    near[:, 2::7] = near[:, 1::7][:, : near[:, 2::7].shape[1]] * (1 - 2**-40)
    near[:, 3::97] = -0.0
    near[:, 4::97] = 0.0
    np.testing.assert_array_equal(distance_order(near), np.argsort(near, axis=1, kind="stable"))
    columns = np.sort(rng.choice(10 * near.shape[1], near.shape[1], replace=False))
    np.testing.assert_array_equal(distance_order(near, columns), columns[np.argsort(near, axis=1, kind="stable")])
    sorted_values = rng.normal(size=d2.shape)
    scattered = np.empty_like(sorted_values)
    np.put_along_axis(scattered, expected, sorted_values, axis=1)
    assert np.array_equal(scatter_sum(order, sorted_values, d2.shape[1]), scattered.sum(axis=0))


def test_distance_order_of_a_long_row_with_ties_equals_a_stable_argsort() -> None:
    """A million-row training set's rows are in one key row per evaluation point: long rows with runs of ties."""
    from openledger_chain.attribution.methods.knn_shapley import distance_order

    rng = np.random.default_rng(3)
    d2 = rng.integers(0, 50, (2, (1 << 16) + 3)) * rng.uniform(0.5, 2.0)
    d2[:, ::5] = rng.uniform(0, 50, d2[:, ::5].shape)
    np.testing.assert_array_equal(distance_order(d2), np.argsort(d2, axis=1, kind="stable"))
    columns = 3 * np.arange(d2.shape[1]) + 1
    np.testing.assert_array_equal(distance_order(d2, columns), columns[np.argsort(d2, axis=1, kind="stable")])


def _dense_tknn_chunk(x_train, y_train, x_eval, y_eval, tau, k, n_classes, n_labels):  # type: ignore[no-untyped-def]
    """The TKNN-Shapley chunk over all N rows in their full distance order (the kernel before it sorted
    only the ball): every row outside a point's ball gets its +0.0 added too."""
    from openledger_chain.attribution.methods.knn_shapley import distance_order, harmonic_numbers, relabel_slopes, scatter_sum
    from openledger_chain.attribution.utility import squared_distances

    n = len(y_train)
    d2 = squared_distances(x_eval, x_train)
    order = distance_order(d2)
    c = np.full(len(y_eval), n) if tau is None else (d2 <= tau * tau).sum(axis=1)
    rank = np.arange(1, n + 1)
    m = ((y_train[order] == y_eval[:, None]) & (rank[None, :] <= c[:, None])).astype(np.float64)
    cp = m.sum(axis=1)
    kk = np.where(c > 0, np.minimum(c, k if k is not None else n), 1).astype(np.float64)
    inverse_rank = 1.0 / np.maximum(kk[:, None], rank[None, :])
    m_next = np.zeros_like(m)
    m_next[:, :-1] = m[:, 1:]
    s = np.cumsum(((m - m_next) * inverse_rank)[:, ::-1], axis=1)[:, ::-1]
    ell = np.maximum(kk - 1, 0).astype(np.int64)
    h = harmonic_numbers(n)[ell + 1] - 1.0
    safe_c = np.maximum(c, 1).astype(np.float64)
    denom = np.maximum(c - 1, 1).astype(np.float64)
    phi_d = np.empty((len(c), 2))
    for mv in (0.0, 1.0):
        q = np.where(c > 1, (cp - mv) / denom, 0.0)
        phi_d[:, int(mv)] = ((1 - 1 / kk) * mv - 1 / n_classes + (h - ell / kk) * mv - q * h) / safe_c
    inball = rank[None, :] <= c[:, None]
    s += np.where(inball, np.where(m > 0, phi_d[:, 1:2], phi_d[:, 0:1]), 0.0)
    values = scatter_sum(order, s, n)
    if not n_labels:
        return values
    slope = np.where(inball, inverse_rank + ((1 - 1 / kk) + (h - ell / kk))[:, None] / safe_c[:, None], 0.0)
    return np.vstack([values, relabel_slopes(order, slope, y_eval, n_labels)])


@pytest.mark.parametrize("tau, k", [(None, 5), (None, None), (1.5, 5), (1.5, None), (3.0, 1), (0.3, 5)])
@pytest.mark.parametrize("n_labels", [0, 3])
def test_tknn_ball_kernel_equals_the_dense_kernel_bit_for_bit(tau: float | None, k: int | None, n_labels: int) -> None:
    """Sorting and summing only each point's ball (what makes 1,000,000 rows affordable) gives the same
    bits as the sum over all N rows: on a coarse lattice (ties, rows on the ball's edge, empty balls)."""
    from openledger_chain.attribution.methods.tknn_shapley import _chunk_values

    rng = np.random.default_rng(7)
    x_train, x_eval = rng.integers(0, 5, (600, 3)) * 0.5, rng.integers(0, 7, (40, 3)) * 0.5
    y_train, y_eval = rng.integers(0, 3, 600), rng.integers(0, 3, 40)
    dense = _dense_tknn_chunk(x_train, y_train, x_eval, y_eval, tau, k, 3, n_labels)
    ball = _chunk_values(x_train, y_train, x_eval, y_eval, tau, k, 3, n_labels)
    assert dense.tobytes() == ball.tobytes()

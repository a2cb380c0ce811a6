"""Regression (``task: "regression"``): exact KNN-Shapley of the KNN regressor against brute force,
the target-noise null, and the engine's defences on continuous targets."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from _bruteforce import shapley
from _project import addr, write_csv
from sklearn.datasets import load_diabetes

from openledger_chain.attribution import attribute, attribute_files, parse_spec
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.methods.knn_regression_shapley import KNNRegressionShapley
from openledger_chain.attribution.methods.tknn_regression_shapley import TKNNRegressionShapley
from openledger_chain.attribution.noise import target_null
from openledger_chain.attribution.utility import KNNRegressionUtility, TKNNRegressionUtility
from openledger_chain.errors import InputError


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
    tau = [0.5, 1.0, 1.5, 2.5, None][[1, 2, 3, 5, 9].index(k)]
    np.testing.assert_allclose(TKNNRegressionShapley(ev, tau).fit(train).result.values,
                               shapley(TKNNRegressionUtility(train, ev, np.inf if tau is None else tau), 8), rtol=0, atol=1e-10)


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


@pytest.mark.parametrize("seed", range(120))
def test_threshold_values_equal_brute_force_shapley(seed: int) -> None:
    """The threshold variant (mean of the targets within tau) on the same tiny instances, radii from
    "nobody in the ball" to "everyone", including radii equal to a lattice distance (inclusive ball)."""
    train, ev, _ = tiny(seed)
    tau = [0.3, 1.0, 1.5, 2.0, 10.0][seed % 5]
    exact = shapley(TKNNRegressionUtility(train, ev, tau), len(train))
    result = TKNNRegressionShapley(ev, tau).fit(train).result
    np.testing.assert_allclose(result.values, exact, rtol=0, atol=1e-10)
    rng = np.random.default_rng(2000 + seed)
    i = int(rng.integers(0, len(train)))
    y = train.y.copy()
    y[i] = rng.normal() * 4
    moved = shapley(TKNNRegressionUtility(Dataset(train.x, y), ev, tau), len(train))
    b, c = result.relabel_values[i]
    assert result.values[i] + b * (y[i] - train.y[i]) + c * (y[i] ** 2 - train.y[i] ** 2) == pytest.approx(moved[i], abs=1e-10)


# --- the target-noise null ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(10))
def test_target_null_moments_are_exact(seed: int) -> None:
    """Mean and variance of a row's value over the evaluation targets, every other row fixed, by
    brute force (one brute-force Shapley run per evaluation target) against :func:`target_null`."""
    train, ev, k = tiny(seed)
    result = KNNRegressionShapley(ev, k).fit(train).result
    i = 0
    moved = []
    for t in ev.y:
        y = train.y.copy()
        y[i] = t
        moved.append(shapley(KNNRegressionUtility(Dataset(train.x, y), ev, k), len(train))[i])
    null = target_null(result.values, train.y, result.relabel_values, ev.y)
    assert null.mean[i] == pytest.approx(np.mean(moved), abs=1e-10)
    assert null.var[i] == pytest.approx(np.var(moved), abs=1e-10)


# --- the engine --------------------------------------------------------------------------------

def diabetes_project(root: Path) -> tuple[dict, list[dict], np.ndarray, np.ndarray]:
    """Diabetes: 100 evaluation rows, four honest contributors of 60 rows."""
    x, y = load_diabetes(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(y))
    x, y = x[perm], y[perm]
    columns = [f"f{j}" for j in range(x.shape[1])]
    write_csv(root / "eval.csv", x[:100], y[:100], columns, "progression")
    manifest = []
    for i in range(4):
        rows = slice(100 + 60 * i, 160 + 60 * i)
        write_csv(root / f"c{i}.csv", x[rows], y[rows], columns, "progression")
        manifest.append({"id": f"c{i}", "contributor": addr(i + 1), "kind": "data", "path": f"c{i}.csv"})
    return {"task": "regression", "label": "progression", "kind_shares_bps": {"data": 10000}}, manifest, x, y


def test_engine_values_regression_rows_with_the_closed_form(tmp_path: Path) -> None:
    spec, manifest, x, y = diabetes_project(tmp_path)
    spec["copy_ratio"] = 0.0  # exact copies only: every row is valued
    report = attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path, emission=10**18)
    assert "revalued_without" not in report.method and not any(c.excluded for c in report.contributions)
    assert report.method["task"] == "regression" and report.method["name"] == "knn_shapley"
    assert report.utility["metric"] == "knn_negative_squared_error"
    assert report.utility["none"] == pytest.approx(-1.0)
    assert sum(report.allocations.values()) == 10**18
    # The same values as the method on the standardized rows and targets.
    z = lambda a, ref: (a - ref.mean(axis=0)) / ref.std(axis=0)  # noqa: E731
    xe, ye = x[:100], y[:100]
    train = Dataset(z(x[100:340], xe), (y[100:340] - ye.mean()) / ye.std())
    values = KNNRegressionShapley(Dataset(z(xe, xe), (ye - ye.mean()) / ye.std()), 5).fit(train).result.values
    for i, c in enumerate(report.contributions):
        assert c.value == pytest.approx(values[60 * i : 60 * i + 60].sum(), abs=1e-12)


def test_engine_values_regression_rows_with_the_threshold_closed_form(tmp_path: Path) -> None:
    spec, manifest, x, y = diabetes_project(tmp_path)
    spec |= {"copy_ratio": 0.0, "noise_margin": 0.0, "method": {"name": "tknn_shapley", "k": None, "tau": 3.0}}
    report = attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path, emission=10**18)
    assert report.utility["metric"] == "tknn_negative_squared_error" and report.method["task"] == "regression"
    z = lambda a, ref: (a - ref.mean(axis=0)) / ref.std(axis=0)  # noqa: E731
    xe, ye = x[:100], y[:100]
    train = Dataset(z(x[100:340], xe), (y[100:340] - ye.mean()) / ye.std())
    values = TKNNRegressionShapley(Dataset(z(xe, xe), (ye - ye.mean()) / ye.std()), 3.0).fit(train).result.values
    for i, c in enumerate(report.contributions):
        assert c.value == pytest.approx(values[60 * i : 60 * i + 60].sum(), abs=1e-12)
    assert sum(c.value for c in report.contributions) == pytest.approx(report.utility["all"] - report.utility["none"], abs=1e-12)
    auto = attribute(spec | {"method": {"name": "tknn_shapley", "k": None}}, manifest, tmp_path / "eval.csv", base_dir=tmp_path)
    assert auto.method["resolved_tau"] > 0


def test_engine_excludes_copies_far_targets_and_pays_no_shuffled_targets(tmp_path: Path) -> None:
    spec, manifest, x, y = diabetes_project(tmp_path)
    columns = [f"f{j}" for j in range(x.shape[1])]
    rng = np.random.default_rng(1)
    # A copy of c0 with other targets (a copy in feature space), a target 1e6 sd out, and c3's rows
    # jittered with their targets shuffled.
    write_csv(tmp_path / "copy.csv", x[100:160], rng.permutation(y[100:160]), columns, "progression")
    far = y[:100].mean() + 1e6 * y[:100].std()
    write_csv(tmp_path / "far.csv", x[400:401], np.array([far]), columns, "progression")
    jitter = x[280:340] + 0.3 * x[:100].std(axis=0) * rng.normal(size=(60, x.shape[1]))
    write_csv(tmp_path / "shuffled.csv", jitter, rng.permutation(y[280:340]), columns, "progression")
    for cid, who in (("copy", 7), ("far", 8), ("shuffled", 9)):
        manifest.append({"id": cid, "contributor": addr(who), "kind": "data", "path": f"{cid}.csv"})
    report = attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path, emission=10**18)
    by = {c.id: c for c in report.contributions}
    assert by["copy"].credited_rows == 0 and by["copy"].derivative_of == "c0"
    assert by["far"].excluded == {"outlier": 1}
    assert report.allocations[addr(9)] == 0
    assert sum(v for a, v in report.allocations.items() if a in {addr(i) for i in range(1, 5)}) == 10**18


def test_spec_and_files_for_regression(tmp_path: Path) -> None:
    assert parse_spec({"label": "y", "task": "regression"}).method.name == "knn_shapley"
    with pytest.raises(InputError, match="loo does not value task 'regression'"):
        parse_spec({"label": "y", "task": "regression", "method": {"name": "loo"}})
    with pytest.raises(InputError, match="give \"k\": null"):
        parse_spec({"label": "y", "task": "regression", "method": {"name": "tknn_shapley"}})
    assert parse_spec({"label": "y", "task": "regression", "method": {"name": "tknn_shapley", "k": None}}).method.params["tau"] == "auto"
    with pytest.raises(InputError, match="'classes' is for classification"):
        parse_spec({"label": "y", "task": "regression", "classes": ["1"]})
    with pytest.raises(InputError, match="unknown task"):
        parse_spec({"label": "y", "task": "ranking"})
    spec, manifest, x, y = diabetes_project(tmp_path)
    with (tmp_path / "c1.csv").open("a") as f:
        f.write(",".join(["0"] * 10) + ",high\n")  # row 62 (the header is row 1)
    with pytest.raises(InputError, match="target not a number"):
        attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path)
    report = attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path, exclude_malformed=True)
    assert report.malformed == {"c1": "row 62, column 'progression': target not a number"}


def test_readme_regression_example_output_is_real() -> None:
    """README "Regression": the amounts printed there are what the example's files give."""
    repo = Path(__file__).resolve().parents[2]
    readme = (repo / "README.md").read_text()
    section = readme[readme.index("### Regression"):]
    printed = dict(re.findall(r"│ (0x[0-9a-f]{40}) │[^│]*│[^│]*│ +(\d+) │", section[: section.index("wrote out.json")]))
    here = repo / "examples" / "regression"
    report = attribute_files(here / "spec.json", here / "manifest.json", here / "eval.csv", base_dir=here,
                             emission=10**21)
    assert {a.lower(): str(v) for a, v in report.allocations.items()} == printed
    assert report.method["task"] == "regression"


def test_a_classification_round_records_no_task(basic) -> None:  # type: ignore[no-untyped-def]
    """Only regression adds ``task`` to the method manifest: classification round files stay field for field
    what they were, so rounds written before regression existed still verify."""
    report = attribute(basic.spec, basic.manifest, basic.root / "eval.csv", base_dir=basic.root)
    assert "task" not in report.method


def test_preflight_checks_targets_before_registration(tmp_path: Path) -> None:
    """`openledger contribute` refuses a regression file whose target is not a number, before any transaction."""
    from openledger_chain.preflight import check_contribution_file
    from openledger_chain.types import ContributionKind

    spec, manifest, x, y = diabetes_project(tmp_path)
    assert check_contribution_file(tmp_path / "c0.csv", ContributionKind.DATA, parse_spec(spec), 3) == "60 rows, 10 feature columns"
    with (tmp_path / "c0.csv").open("a") as f:
        f.write(",".join(["0"] * 10) + ",high\n")
    with pytest.raises(InputError, match=r"target not a number.*'progression' \(a numeric target\)"):
        check_contribution_file(tmp_path / "c0.csv", ContributionKind.DATA, parse_spec(spec), 3)

"""The label-noise test: random labels score Z ~ N(0, 1) and are not paid; real labels are."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from openledger_chain.attribution import Dataset, TKNNShapley
from openledger_chain.attribution.noise import label_null, ramp


def test_ramp_bounds_and_degenerate_cases() -> None:
    assert ramp(1.0, 0.0, 1.0, 2.5) == (1.0, 0.0)
    assert ramp(2.5, 0.0, 1.0, 2.5) == (2.5, 0.5)
    assert ramp(9.0, 0.0, 1.0, 2.5) == (9.0, 1.0)
    assert ramp(0.3, 0.0, 0.0, 2.5) == (None, 1.0)  # labels cannot change the value
    assert ramp(-1.0, 0.0, 1.0, 0.0) == (-1.0, 1.0)  # margin 0: plain flooring


@pytest.fixture(scope="module")
def split() -> tuple[Dataset, Dataset, np.ndarray]:
    x, y = load_breast_cancer(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(y))
    x = (x - x[perm[:170]].mean(axis=0)) / x[perm[:170]].std(axis=0)
    return Dataset(x[perm[170:500]], y[perm[170:500]]), Dataset(x[perm[:170]], y[perm[:170]]), x[perm[500:]]


def identity_z(train: Dataset, ev: Dataset, rows: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Z and pay weight of one identity holding `rows` with `labels`, added after `train`."""
    pooled = Dataset(np.vstack([train.x, rows]), np.concatenate([train.y, labels]))
    result = TKNNShapley(ev, 3 * 2.8, 5, n_classes=2).fit(pooled).result
    mine = slice(len(train), None)
    null = label_null(result.relabel_values[mine], np.array([0, 1]))
    z, weight = ramp(float(result.values[mine].sum()), float(null.mean.sum()), float(null.var.sum()), 2.5)
    assert z is not None
    return z, weight


def test_random_labels_score_a_standard_normal_and_are_rarely_paid(split) -> None:  # type: ignore[no-untyped-def]
    train, ev, spare = split
    rng = np.random.default_rng(1)
    rows = spare[:8]
    draws = [identity_z(train, ev, rows, rng.integers(0, 2, len(rows))) for _ in range(300)]
    z = np.array([d[0] for d in draws])
    weight = np.array([d[1] for d in draws])
    # The null holds the identity's other rows fixed; jointly random labels stay close to N(0, 1).
    assert abs(z.mean()) < 0.25 and 0.7 < z.std() < 1.3
    assert weight.mean() < 0.05


def test_true_labels_are_paid_in_full(split) -> None:  # type: ignore[no-untyped-def]
    train, ev, spare = split
    x, y = load_breast_cancer(return_X_y=True)
    perm = np.random.default_rng(0).permutation(len(y))
    z, weight = identity_z(train, ev, spare, y[perm[500:]])
    assert z > 3.5 and weight == 1.0


def test_a_round_of_one_row_identities_says_why_nobody_is_paid(split, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One row's Z is at most sqrt(classes - 1), below the default margin's ramp: a round where every
    identity holds one row cannot be paid, and the error names the noise test and the way out."""
    from openledger_chain.attribution import attribute
    from openledger_chain.errors import AttributionError

    train, ev, _ = split

    def write(path, x: np.ndarray, y: np.ndarray) -> None:  # type: ignore[no-untyped-def]
        path.write_text("".join([",".join(f"f{j}" for j in range(x.shape[1])) + ",label\n",
                                 *(",".join(map(repr, row)) + f",{int(v)}\n" for row, v in zip(x.tolist(), y.tolist()))]))

    write(tmp_path / "eval.csv", ev.x, ev.y)
    manifest = []
    for i in range(40):
        write(tmp_path / f"c{i}.csv", train.x[i:i + 1], train.y[i:i + 1])
        manifest.append({"id": f"c{i}", "contributor": f"0x{i + 1:040x}", "kind": "data", "path": f"c{i}.csv"})
    spec = {"label": "label", "kind_shares_bps": {"data": 10000}}
    with pytest.raises(AttributionError, match=r"none beats random labels by the noise test \(noise_margin 3.*lower noise_margin"):
        attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path, emission=10**18)
    report = attribute(spec | {"noise_margin": 0}, manifest, tmp_path / "eval.csv", base_dir=tmp_path, emission=10**18)
    assert sum(report.allocations.values()) == 10**18

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


def _write_csv(path, x: np.ndarray, y: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    path.write_text("".join(["a,b,label\n", *(f"{r[0]!r},{r[1]!r},{int(v)}\n" for r, v in zip(x.tolist(), y.tolist()))]))


def test_rows_are_not_paid_what_random_labels_earn_where_they_stand(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A row's pay is its value less what a random label earns at its position, where that is positive
    (noise.null_baseline). Toy: two clean clusters and a confused one between them, where the only row votes
    against the evaluation labels, so a random vote beats it. The attacker holds correct rows in the clean
    clusters (its identity passes the noise test) and pads them with random-label rows in the confused
    cluster. Null means by definition (every label of every row, the round rerun), then the shares."""
    from fractions import Fraction

    from openledger_chain.attribution import attribute

    rng = np.random.default_rng(3)
    ex = np.vstack([rng.normal((0, 0), 0.3, (8, 2)), rng.normal((10, 0), 0.3, (8, 2)), rng.normal((5, 0), 0.3, (6, 2))])
    ey = np.array([0] * 8 + [1] * 8 + [1] * 6)
    files = {  # contributor -> rows, labels
        "0x" + "01" * 20: (np.vstack([rng.normal((0, 0), 0.3, (3, 2)), rng.normal((10, 0), 0.3, (3, 2)), [[5.1, 0.1]]]),
                           np.array([0] * 3 + [1] * 3 + [0])),
        "0x" + "02" * 20: (np.vstack([rng.normal((0, 0), 0.3, (5, 2)), rng.normal((10, 0), 0.3, (5, 2)),
                                      rng.normal((5, 0), 0.2, (3, 2))]),
                           np.array([0] * 5 + [1] * 5 + [0] * 3)),  # padding: random labels that came out 0
    }
    _write_csv(tmp_path / "eval.csv", ex, ey)
    spec = {"label": "label", "standardize": False, "method": {"name": "tknn_shapley", "k": 5, "tau": 2.0},
            "kind_shares_bps": {"data": 10000}, "noise_margin": 1, "copy_ratio": 0}

    def run(labels: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
        manifest = []
        for i, (a, (x, _)) in enumerate(files.items()):
            _write_csv(tmp_path / f"c{i}.csv", x, labels[a])
            manifest.append({"id": f"c{i}", "contributor": a, "kind": "data", "path": f"c{i}.csv"})
        return attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path, emission=10**18)

    report = run({a: y for a, (_, y) in files.items()})
    assert report.method["paid_above_null"] is True and "revalued_without" not in report.method
    offsets = np.cumsum([0, *(len(y) for _, y in files.values())])
    null_mean = np.zeros(offsets[-1])
    for i, (a, (_, y)) in enumerate(files.items()):
        for r in range(len(y)):
            relabelled = []
            for c in (0, 1):
                labels = {b: yy.copy() for b, (_, yy) in files.items()}
                labels[a][r] = c
                relabelled.append(run(labels).row_values[offsets[i] + r])
            null_mean[offsets[i] + r] = np.mean(relabelled)
    padding = slice(offsets[1] + 10, offsets[2])
    assert np.maximum(null_mean[padding], 0).sum() > 0.05  # random labels earn there: the old rule paid it
    basis = {}
    for i, c in enumerate(report.contributors):
        rows = slice(offsets[i], offsets[i + 1])
        above = report.row_values[rows].sum() - np.maximum(null_mean[rows], 0).sum()
        basis[c.address] = max(0.0, above) * c.paid_fraction  # the noise test's weight: Z is not moved by the rule
    total = sum(basis.values())
    for c in report.contributors:
        assert float(c.exact_share) == pytest.approx(basis[c.address] / total, rel=1e-9)
    plain = {c.address: max(0.0, report.row_values[offsets[i]:offsets[i + 1]].sum()) * c.paid_fraction
             for i, c in enumerate(report.contributors)}
    attacker = "0x" + "02" * 20
    assert float(report.scores()[attacker]) < plain[attacker] / sum(plain.values()) - 0.005
    assert sum(Fraction(v) for v in report.scores().values()) == 1

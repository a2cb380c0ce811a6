"""Embeddings (Parquet / .npz) and text (hashed TF-IDF fitted on the evaluation set), issue 26 items 2-3.

Cosine distance is valued as Euclidean distance on l2-normalised vectors: the values equal brute-force
Shapley of a KNN classifier that measures cosine distance itself (scikit-learn's ``metric="cosine"``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _bruteforce import shapley
from _project import addr
from sklearn.neighbors import KNeighborsClassifier

from openledger_chain.attribution import attribute, parse_spec
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.methods import KNNShapley
from openledger_chain.attribution.representation import TextFeaturizer, TextSpec, isotropic_standardizer
from openledger_chain.errors import InputError

HASH = "0x" + "ab" * 32
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def emb_spec(**over: object) -> dict:
    embedding = {"model": "test-model", "model_hash": HASH, "dimension": 8, "normalization": "l2", "distance": "cosine"}
    return {"label": "y", "embedding": embedding | over, "kind_shares_bps": {"data": 10000}}


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def write_parquet(path: Path, x: np.ndarray, y: np.ndarray, column: str = "embedding", fixed: bool = True) -> None:
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    if fixed:
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(x32.ravel()), x32.shape[1])
    else:
        vectors = pa.array([row.tolist() for row in x32], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({column: vectors, "y": pa.array(y.astype(np.int64))}), path)


def clusters(rng: np.random.Generator, n: int, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Two classes around two directions, unit vectors."""
    y = rng.integers(0, 2, n)
    centres = np.eye(dim)[:2] * 3
    return unit(centres[y] + rng.normal(size=(n, dim))), y


# --- the method: cosine KNN-Shapley equals brute force ------------------------------------------

def cosine_knn_utility(x: np.ndarray, y: np.ndarray, xe: np.ndarray, ye: np.ndarray, k: int):
    """Soft accuracy of a K-NN classifier with cosine distance (scikit-learn measures it), raw vectors."""

    def u(s: np.ndarray) -> float:
        if len(s) == 0:
            return 0.0
        nn = KNeighborsClassifier(n_neighbors=min(k, len(s)), metric="cosine", algorithm="brute").fit(x[s], y[s])
        idx = nn.kneighbors(xe, return_distance=False)
        return float(np.mean([(y[s][row] == t).sum() / k for row, t in zip(idx, ye)]))

    return u


@pytest.mark.parametrize("seed", range(40))
def test_cosine_knn_shapley_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, n_eval, k, dim = int(rng.integers(2, 8)), int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(2, 5))
    x = rng.normal(size=(n, dim)) * rng.uniform(0.1, 10, size=(n, 1))  # norms vary: cosine ignores them
    xe = rng.normal(size=(n_eval, dim))
    y, ye = rng.integers(0, 2, n), rng.integers(0, 2, n_eval)
    exact = shapley(cosine_knn_utility(x, y, xe, ye, k), n)
    ours = KNNShapley(Dataset(unit(xe), ye), k).fit(Dataset(unit(x), y)).result.values
    np.testing.assert_allclose(ours, exact, atol=1e-10)


def test_isotropic_standardizer_keeps_ratios_of_distances() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 6)) * np.arange(1, 7)
    z = isotropic_standardizer(x[:30])(x)
    d = np.linalg.norm(x[:, None] - x[None], axis=2)
    dz = np.linalg.norm(z[:, None] - z[None], axis=2)
    ratio = dz[d > 0] / d[d > 0]
    np.testing.assert_allclose(ratio, ratio[0])


# --- the spec -----------------------------------------------------------------------------------

def test_spec_records_the_embedding_and_defaults_standardize_off() -> None:
    spec = parse_spec(emb_spec())
    assert spec.standardize is False and spec.representation == "embedding"
    assert spec.manifest()["embedding"] == {"model": "test-model", "model_hash": HASH, "dimension": 8,
                                             "normalization": "l2", "distance": "cosine", "column": "embedding"}
    assert "embedding" not in parse_spec({"label": "y"}).manifest()


@pytest.mark.parametrize("raw, message", [
    (emb_spec(dimension=0), "embedding.dimension"),
    (emb_spec(model_hash="abc"), "embedding.model_hash"),
    (emb_spec(distance="manhattan"), "embedding.distance"),
    (emb_spec(normalization="l1"), "embedding.normalization"),
    (emb_spec(extra=1), "embedding.extra"),
    (emb_spec() | {"standardize": True}, "standardize"),
    (emb_spec() | {"features": ["a"]}, "features"),
    (emb_spec() | {"text": {}}, "exclude each other"),
    ({"label": "y", "text": {"n_features": 1000}}, "power of two"),
    ({"label": "y", "text": {"ngram_range": [2, 1]}}, "ngram_range"),
    ({"label": "y", "text": {"svd_components": 4096, "n_features": 1024}}, "svd_components"),
])
def test_spec_rejects(raw: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_spec(raw)


# --- embeddings through the engine --------------------------------------------------------------

def embedding_round(tmp_path: Path, files: dict[str, tuple[np.ndarray, np.ndarray]], spec: dict | None = None,
                    eval_suffix: str = ".parquet", **kwargs: object):
    rng = np.random.default_rng(0)
    xe, ye = clusters(rng, 60)
    if eval_suffix == ".parquet":
        write_parquet(tmp_path / "eval.parquet", xe, ye)
    else:
        np.savez(tmp_path / "eval.npz", features=xe, labels=ye)
    manifest = []
    for i, (name, (x, y)) in enumerate(files.items(), start=1):
        if name.endswith(".npz"):
            np.savez(tmp_path / name, features=x, labels=y)
        elif name.endswith(".parquet"):
            write_parquet(tmp_path / name, x, y)
        else:
            (tmp_path / name).write_text("f0,y\n1,0\n")
        manifest.append({"id": name.split(".")[0], "contributor": addr(i), "kind": "data", "path": name})
    return attribute(spec or emb_spec(), manifest, tmp_path / f"eval{eval_suffix}", base_dir=tmp_path,
                     emission=10**18, **kwargs)


def test_parquet_and_npz_rows_are_valued_and_copies_credited_to_the_first(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    a, b = clusters(rng, 80), clusters(rng, 80)
    copy = (unit(a[0] * (1 + 1e-4 * rng.normal(size=a[0].shape))), a[1])
    report = embedding_round(tmp_path, {"a.parquet": a, "b.npz": b, "c.parquet": copy}, eval_suffix=".npz")
    by_id = {c.id: c for c in report.contributions}
    assert by_id["a"].value > 0 and by_id["b"].value > 0
    assert by_id["c"].credited_rows == 0 and by_id["c"].derivative_of == "a"
    assert report.allocations[addr(3)] == 0
    assert report.method["representation"]["model_hash"] == HASH


def test_cosine_ignores_norms(tmp_path: Path) -> None:
    """normalization "none" + cosine: scaling a file's rows changes nothing."""
    rng = np.random.default_rng(6)
    a, b = clusters(rng, 40), clusters(rng, 40)
    spec = emb_spec(normalization="none")
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    one = embedding_round(tmp_path / "1", {"a.parquet": a, "b.parquet": b}, spec)
    two = embedding_round(tmp_path / "2", {"a.parquet": (a[0] * 7.5, a[1]), "b.parquet": b}, spec)
    assert [c.fixed for c in one.contributions] == [c.fixed for c in two.contributions]


@pytest.mark.parametrize("bad, reason", [
    (lambda x: x[:, :6], "dimension 6, the spec says 8"),
    (lambda x: x * 1.1, "Euclidean norm"),
    (lambda x: np.where(np.arange(x.size).reshape(x.shape) == 3, np.nan, x), "not a finite number"),
])
def test_malformed_embedding_files_are_excluded_with_the_reason(tmp_path: Path, bad, reason: str) -> None:
    rng = np.random.default_rng(7)
    a, b = clusters(rng, 40), clusters(rng, 40)
    report = embedding_round(tmp_path, {"a.parquet": a, "b.parquet": (bad(b[0]), b[1])}, exclude_malformed=True)
    assert list(report.malformed) == ["b"] and reason in report.malformed["b"]
    assert [c.id for c in report.contributions] == ["a"]
    with pytest.raises(InputError, match=reason.split(",")[0]):
        embedding_round(tmp_path, {"a.parquet": a, "b.parquet": (bad(b[0]), b[1])})


def test_wrong_format_and_variable_lists(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    a = clusters(rng, 30)
    report = embedding_round(tmp_path, {"a.parquet": a, "b.csv": a}, exclude_malformed=True)
    assert "a .parquet or .npz file" in report.malformed["b"]
    # A list<float> column (not fixed-size) whose rows all have the dimension is read like a fixed one.
    write_parquet(tmp_path / "v.parquet", *a, fixed=False)
    write_parquet(tmp_path / "f.parquet", *a)
    from openledger_chain.attribution.table import read_rows

    spec = parse_spec(emb_spec())
    assert np.array_equal(read_rows(tmp_path / "v.parquet", spec).x, read_rows(tmp_path / "f.parquet", spec).x)


# --- text ---------------------------------------------------------------------------------------

def test_text_featurizer_space_depends_on_the_evaluation_set_only() -> None:
    spec = TextSpec(n_features=256, ngram_range=(1, 2))
    ev = ["refund for the invoice", "parcel not delivered", "password reset fails", "invoice amount wrong"]
    f1 = TextFeaturizer(spec).fit(ev)
    f2 = TextFeaturizer(spec).fit(ev)
    contributed = ["refund please", "my parcel is late", "zzzz qqqq"]
    assert np.array_equal(f1.transform(contributed), f2.transform(contributed))
    assert f1.manifest()["idf_sha256"] == f2.manifest()["idf_sha256"]
    x = f1.transform(contributed)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0)
    # Refitting on other texts moves the space: the idf hash records which.
    assert TextFeaturizer(spec).fit(ev[:2]).manifest()["idf_sha256"] != f1.manifest()["idf_sha256"]


def test_text_svd_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(60)]
    ev = [" ".join(rng.choice(words, 8)) for _ in range(80)]
    spec = TextSpec(n_features=512, svd_components=16)
    a, b = TextFeaturizer(spec, seed=3).fit(ev), TextFeaturizer(spec, seed=3).fit(ev)
    assert np.array_equal(a.transform(ev[:5]), b.transform(ev[:5]))
    assert a.manifest()["svd_sha256"] == b.manifest()["svd_sha256"]


def test_text_example_round(tmp_path: Path) -> None:
    """examples/text: the copier and the label shifter earn nothing, the honest three share the emission; the
    method manifest records everything needed to recompute the vectors."""
    root = EXAMPLES / "text"
    spec = json.loads((root / "spec.json").read_text())
    manifest = json.loads((root / "manifest.json").read_text())
    report = attribute(spec, manifest, root / "eval.csv", base_dir=root, emission=10**21)
    paid = report.allocations
    assert paid[addr(4)] == 0 and paid[addr(5)] == 0
    assert all(paid[addr(i)] > 0.25 * 10**21 for i in (1, 2, 3))
    rep = report.method["representation"]
    assert rep["kind"] == "text" and rep["n_features"] == 1024 and rep["ngram_range"] == [1, 2] and "idf_sha256" in rep


def test_text_spec_defaults_to_the_text_radius() -> None:
    """A text spec that sets no radius gets DEFAULT_TEXT_TAU (a number, recorded as such in the method manifest);
    one that sets a radius, or `"auto"`, keeps it; other specs keep `"auto"`."""
    from openledger_chain.attribution.spec import DEFAULT_TEXT_TAU

    text = {"label": "topic", "text": {"column": "text"}}
    assert isinstance(DEFAULT_TEXT_TAU, float) and 0 < DEFAULT_TEXT_TAU < 2 ** 0.5
    assert parse_spec(text).method.params == {"k": 5, "tau": DEFAULT_TEXT_TAU}
    assert parse_spec(text | {"method": {"name": "tknn_shapley", "k": 3}}).method.params["tau"] == DEFAULT_TEXT_TAU
    assert parse_spec(text | {"method": {"name": "tknn_shapley", "tau": "auto"}}).method.params["tau"] == "auto"
    assert parse_spec(text | {"method": {"name": "tknn_shapley", "tau": 0.9}}).method.params["tau"] == 0.9
    assert parse_spec(text | {"method": {"name": "knn_shapley"}}).method.params == {"k": 5}
    assert parse_spec({"label": "y"}).method.params["tau"] == "auto"
    assert parse_spec(emb_spec()).method.params["tau"] == "auto"


def test_junk_text_in_a_topic_nobody_covers_earns_nothing(tmp_path: Path) -> None:
    """Attack: 100 strings of random letters (no word of the evaluation set) labelled with the one topic no
    honest contributor covers. Under `tau: "auto"` (the text default before) the radius exceeds the sphere's
    diameter, the junk rows are among the 5 nearest of every evaluation ticket of that topic, vote for its true
    topic and beat random labels (Z about 13): they took 20% of the emission. Under the text radius they are
    outside every evaluation ticket's neighbourhood and earn nothing."""
    import csv

    root = EXAMPLES / "text"
    with (root / "alice.csv").open() as f:
        honest = [r for r in list(csv.reader(f))[1:] if r[1] != "product"]
    rng = np.random.default_rng(1)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    junk = [[" ".join("".join(rng.choice(letters, 6)) for _ in range(8)), "product"] for _ in range(100)]
    for name, rows in (("honest.csv", honest), ("junk.csv", junk)):
        with (tmp_path / name).open("w", newline="") as f:
            csv.writer(f).writerows([["text", "topic"], *rows])
    manifest = [{"id": n, "contributor": addr(i), "kind": "data", "path": f"{n}.csv"}
                for i, n in enumerate(["honest", "junk"], start=1)]
    spec = json.loads((root / "spec.json").read_text())
    assert "method" not in spec  # the example's spec takes the text default

    def junk_share(spec: dict) -> float:
        report = attribute(spec, manifest, root / "eval.csv", base_dir=tmp_path, emission=10**21)
        return {a.lower(): v for a, v in report.allocations.items()}[addr(2)] / 10**21

    assert junk_share(spec) == 0
    assert junk_share(spec | {"method": {"name": "tknn_shapley", "tau": "auto"}}) > 0.1


def test_text_file_checks(tmp_path: Path) -> None:
    spec = {"label": "topic", "text": {"n_features": 64}, "kind_shares_bps": {"data": 10000}}
    (tmp_path / "eval.csv").write_text("text,topic\nrefund my invoice,billing\nparcel is late,shipping\n")
    (tmp_path / "ok.csv").write_text("topic,text\nbilling,invoice refund\nshipping,late parcel\n")
    (tmp_path / "extra.csv").write_text("text,topic,f0\nrefund,billing,1\n")
    (tmp_path / "empty.csv").write_text("text,topic\n !,billing\n")
    manifest = [{"id": n, "contributor": addr(i), "kind": "data", "path": f"{n}.csv"}
                for i, n in enumerate(["ok", "extra", "empty"], start=1)]
    report = attribute(spec, manifest, tmp_path / "eval.csv", base_dir=tmp_path, exclude_malformed=True)
    assert set(report.malformed) == {"extra", "empty"}
    assert "unexpected column" in report.malformed["extra"] and "no word" in report.malformed["empty"]


def test_embedding_example_round() -> None:
    """examples/embeddings: dave's 64-dimensional file is left out with the reason; copycat and mallory earn
    nothing; the model hash in the spec is the SHA-256 of model.npy."""
    root = EXAMPLES / "embeddings"
    spec = json.loads((root / "spec.json").read_text())
    assert spec["embedding"]["model_hash"] == "0x" + hashlib.sha256((root / "model.npy").read_bytes()).hexdigest()
    manifest = json.loads((root / "manifest.json").read_text())
    report = attribute(spec, manifest, root / "eval.parquet", base_dir=root, emission=10**21, exclude_malformed=True)
    assert report.malformed == {"dave-1": "column 'embedding': dimension 64, the spec says 128"}
    paid = report.allocations
    assert paid[addr(4)] == 0 and paid[addr(5)] == 0
    assert all(paid[addr(i)] > 0.25 * 10**21 for i in (1, 2, 3))


@pytest.mark.parametrize("heading, folder, eval_name, exclude", [
    ("### Embeddings", "embeddings", "eval.parquet", True), ("### Text", "text", "eval.csv", False)])
def test_readme_outputs_are_real(heading: str, folder: str, eval_name: str, exclude: bool) -> None:
    """README "Embeddings" / "Text": the amounts printed there are what the example's files give."""
    import re

    readme = (EXAMPLES.parent / "README.md").read_text()
    section = readme[readme.index(heading):]
    printed = dict(re.findall(r"│ (0x[0-9a-f]{40}) │[^│]*│[^│]*│ +(\d+) │", section[: section.index("wrote out.json")]))
    root = EXAMPLES / folder
    report = attribute(json.loads((root / "spec.json").read_text()), json.loads((root / "manifest.json").read_text()),
                       root / eval_name, base_dir=root, emission=10**21, exclude_malformed=exclude)
    assert {a.lower(): str(v) for a, v in report.allocations.items()} == printed


def test_format_is_read_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    """The oracle caches fetched files under their content hash, without a suffix: the reader looks at the first
    bytes. A truncated Parquet file and a Parquet file for a CSV spec are malformed, with the reason."""
    from openledger_chain.attribution.table import read_rows

    rng = np.random.default_rng(9)
    x, y = clusters(rng, 20)
    write_parquet(tmp_path / "a.parquet", x, y)
    np.savez(tmp_path / "b.npz", features=x, labels=y)
    spec = parse_spec(emb_spec())
    for name in ("a.parquet", "b.npz"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / "c0ffee").write_bytes(data)
        np.testing.assert_allclose(read_rows(tmp_path / "c0ffee", spec).x, x, atol=1e-6)
        (tmp_path / "cut").write_bytes(data[: len(data) // 2])
        with pytest.raises(InputError, match="not a readable"):
            read_rows(tmp_path / "cut", spec)
    with pytest.raises(InputError, match="takes CSV files"):
        read_rows(tmp_path / "c0ffee", parse_spec({"label": "y"}))


def test_outlier_bound_is_a_radius_for_representations(tmp_path: Path) -> None:
    """Sparse rows are not outliers (a two-word text has components near 0.7 where a hashed dimension's deviation
    is about 1/sqrt(n_features)); a Euclidean embedding 100 radii out is."""
    spec = {"label": "topic", "text": {"n_features": 16384}, "kind_shares_bps": {"data": 10000}}
    rng = np.random.default_rng(0)
    words = [f"word{i}" for i in range(300)]
    lines = ["text,topic"] + [f"{' '.join(rng.choice(words, 2))},{'ab'[i % 2]}" for i in range(60)]
    (tmp_path / "eval.csv").write_text("\n".join(lines[:31]) + "\n")
    (tmp_path / "c.csv").write_text("\n".join(lines[:1] + lines[31:]) + "\n")
    report = attribute(spec, [{"id": "c", "contributor": addr(1), "kind": "data", "path": "c.csv"}],
                       tmp_path / "eval.csv", base_dir=tmp_path)
    assert "outlier" not in report.contributions[0].excluded
    a = clusters(np.random.default_rng(3), 30)
    far = (np.vstack([a[0][:29], 100 * a[0][29:] + 50]), a[1])
    rep = embedding_round(tmp_path, {"a.parquet": far}, emb_spec(normalization="none", distance="euclidean"))
    assert rep.contributions[0].excluded == {"outlier": 1}


def test_contribute_preflight_reads_embedding_and_text_files(tmp_path: Path) -> None:
    """`openledger contribute` checks a file as the oracle reads it, before any transaction."""
    from openledger_chain.preflight import check_contribution_file
    from openledger_chain.types import ContributionKind

    x, y = clusters(np.random.default_rng(2), 12)
    write_parquet(tmp_path / "a.parquet", x, y)
    spec = parse_spec(emb_spec())
    assert check_contribution_file(tmp_path / "a.parquet", ContributionKind.DATA, spec, 3) == \
        "12 rows, 8-dimensional test-model vectors"
    write_parquet(tmp_path / "b.parquet", x * 2, y)
    with pytest.raises(InputError, match="Euclidean norm 2.*each l2-normalised"):
        check_contribution_file(tmp_path / "b.parquet", ContributionKind.DATA, spec, 3)
    (tmp_path / "t.csv").write_text("text,y\nrefund please,0\n")
    text_spec = parse_spec({"label": "y", "text": {}})
    assert check_contribution_file(tmp_path / "t.csv", ContributionKind.DATA, text_spec, 3) == "1 text in column 'text'"

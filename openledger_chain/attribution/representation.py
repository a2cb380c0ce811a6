"""Representations other than numeric CSV columns (issue 26 items 2-3): embeddings and text.

**Embeddings.** The spec's ``embedding`` field names the space every oracle values in: the embedding
model's identifier and content hash (of its weights file, as the owner publishes it), the dimension,
the normalisation the model's vectors carry (``none`` or ``l2``) and the distance (``euclidean`` or
``cosine``). A contribution (and the evaluation set) is one file, so one content hash covers features
and labels:

* Parquet (``.parquet``, written by pyarrow or any Parquet writer): a fixed-size-list<float> (or a
  list<float> whose every row has the spec's dimension) feature column, ``column`` in the spec
  (default ``"embedding"``), and the label column;
* NumPy (``.npz``, ``numpy.savez``): the ``.npy`` feature matrix ``features`` (n, dimension) and the
  ``labels`` array (n,), read with ``allow_pickle=False``: nothing in a contributor's file is executed.

Each file is checked as a whole, as a CSV is: the dimension, finiteness, and with ``normalization:
"l2"`` every row's Euclidean norm within :data:`L2_TOLERANCE` of 1. A file that fails is malformed, and
the oracle leaves it out of the round with the reason (``exclude_malformed``).

Cosine distance is Euclidean distance between l2-normalised vectors: ``|a - b|^2 = 2 - 2 cos(a, b)``
for unit ``a, b``, a monotone map, so nearest neighbours, ties and radii are the same. The oracle
therefore divides every row by its norm when the spec says ``cosine`` (a zero vector has no direction
and makes the file malformed) and then runs the Euclidean engine unchanged: valuation, copy detection
and the outlier bound all work in that space.

**Text.** The spec's ``text`` field names a deterministic featurizer of one text column:
scikit-learn's ``HashingVectorizer`` (no vocabulary: a hash of each token or n-gram, so nothing about
the space depends on which files are in the round) and TF-IDF weights whose inverse document
frequencies are fitted on the evaluation set only, so no contributor moves the space. Rows are then
l2-normalised and compared by cosine distance, optionally after a ``TruncatedSVD`` (also fitted on the
evaluation set, fixed seed). The fitted IDF vector's hash is recorded with the parameters in the round
file's method manifest: everything needed to recompute the vectors.

Copy detection and the outlier bound need a space in which "spacing" means the same along every
direction. A CSV's columns are z-scored with the evaluation set's statistics; an embedding's
dimensions are not (that would change the model's geometry): :func:`isotropic_standardizer` centres
on the evaluation mean and divides by one number, the evaluation set's root-mean-square radius,
which moves no neighbour and no ratio of distances; the outlier bound is a radius in that unit.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.labels import checked_label, malformed as _malformed
from openledger_chain.errors import InputError, MalformedFileError

__all__ = [
    "DISTANCES", "L2_TOLERANCE", "NORMALIZATIONS", "EmbeddingSpec", "TextFeaturizer", "TextSpec",
    "isotropic_standardizer", "parse_embedding", "parse_text", "read_embeddings", "read_texts",
]

NORMALIZATIONS = ("none", "l2")
DISTANCES = ("euclidean", "cosine")
#: Largest | |x| - 1 | of a row under ``normalization: "l2"`` (float16 storage rounds a unit norm by ~1e-3).
L2_TOLERANCE = 1e-3
_HASH = re.compile(r"^0x[0-9a-f]{64}$")


# --- embeddings ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class EmbeddingSpec:
    """The spec's ``embedding`` field: which space every oracle values the rows in.

    Attributes:
        model: The embedding model's identifier, as the owner publishes it (e.g. a model hub name).
        model_hash: ``0x`` + 64 hex digits: the content hash of the model's weights file (the owner
            says how contributors get it and how they run it).
        dimension: Length of every vector.
        normalization: ``"none"`` or ``"l2"`` (every row has unit Euclidean norm; checked).
        distance: ``"euclidean"`` or ``"cosine"`` (rows are l2-normalised by the oracle, then Euclidean).
        column: The Parquet feature column.
    """

    model: str
    model_hash: str
    dimension: int
    normalization: str = "none"
    distance: str = "euclidean"
    column: str = "embedding"

    def manifest(self) -> dict[str, Any]:
        return {"model": self.model, "model_hash": self.model_hash, "dimension": self.dimension,
                "normalization": self.normalization, "distance": self.distance, "column": self.column}


def parse_embedding(raw: Any, where: str) -> EmbeddingSpec:
    """Validate the spec's ``embedding`` object."""
    fields = {"model", "model_hash", "dimension", "normalization", "distance", "column"}
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: field 'embedding' must be an object {{\"model\", \"model_hash\", \"dimension\", "
                         "\"normalization\", \"distance\", \"column\"}")
    unknown = set(raw) - fields
    if unknown:
        raise InputError(f"{where}: field 'embedding.{sorted(unknown)[0]}' is unknown (fields: {', '.join(sorted(fields))})")
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InputError(f"{where}: field 'embedding.model' (the embedding model's identifier) is required")
    model_hash = raw.get("model_hash")
    if not isinstance(model_hash, str) or not _HASH.match(model_hash):
        raise InputError(f"{where}: field 'embedding.model_hash' must be 0x and 64 lower-case hex digits "
                         "(the content hash of the model's weights file)")
    dim = raw.get("dimension")
    if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= 65_536:
        raise InputError(f"{where}: field 'embedding.dimension' must be an integer in [1, 65536]")
    norm = raw.get("normalization", "none")
    if norm not in NORMALIZATIONS:
        raise InputError(f"{where}: field 'embedding.normalization' must be one of {', '.join(NORMALIZATIONS)}")
    distance = raw.get("distance", "euclidean")
    if distance not in DISTANCES:
        raise InputError(f"{where}: field 'embedding.distance' must be one of {', '.join(DISTANCES)}")
    column = raw.get("column", "embedding")
    if not isinstance(column, str) or not column:
        raise InputError(f"{where}: field 'embedding.column' must be a non-empty column name")
    return EmbeddingSpec(model, model_hash, dim, norm, distance, column)


def _labels_of(path: Path, values: Sequence[Any], label: str, classes: Sequence[str] | None,
               numeric_label: bool) -> tuple[str, ...]:
    """Label cells as the CSV reader returns them (strings), with its checks."""
    allowed = set(classes) if classes is not None else None
    out: list[str] = []
    for i, v in enumerate(values):
        if v is None:
            raise _malformed(path, f"row {i}, column {label!r}: empty label")
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            v = int(v)
        out.append(checked_label(path, i, label, str(v), allowed, numeric_label))
    return tuple(out)


def _read_parquet(path: Path, emb: EmbeddingSpec, label: str) -> tuple[NDArray[np.float64], list[Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise _malformed(path, "file not found") from None
    except (OSError, pa.ArrowException) as exc:  # e.g. a truncated file
        raise _malformed(path, "not a readable Parquet file", str(exc)) from None
    names = table.column_names
    if emb.column not in names:
        raise _malformed(path, f"column {emb.column!r}: missing embedding column")
    if label not in names:
        raise _malformed(path, f"column {label!r}: missing label column")
    extra = sorted(set(names) - {emb.column, label})
    if extra:
        raise _malformed(path, "unexpected column (the spec names the embedding and label columns only)", extra[0])
    col = table.column(emb.column).combine_chunks()
    kind = col.type
    if not (pa.types.is_fixed_size_list(kind) or pa.types.is_list(kind) or pa.types.is_large_list(kind)) or \
            not (pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type)):
        raise _malformed(path, f"column {emb.column!r}: not a list of floats", str(kind))
    if col.null_count:
        raise _malformed(path, f"column {emb.column!r}: {col.null_count} rows without a vector")
    if pa.types.is_fixed_size_list(kind):
        if kind.list_size != emb.dimension:
            raise _malformed(path, f"column {emb.column!r}: dimension {kind.list_size}, the spec says {emb.dimension}")
        values = col.flatten()
    else:
        lengths = np.asarray(col.value_lengths())
        if len(lengths) and (lengths != emb.dimension).any():
            bad = int(np.flatnonzero(lengths != emb.dimension)[0])
            raise _malformed(path, f"row {bad}, column {emb.column!r}: dimension {int(lengths[bad])}, "
                                   f"the spec says {emb.dimension}")
        values = col.flatten()
    if values.null_count:
        raise _malformed(path, f"column {emb.column!r}: a vector has a missing component")
    x = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(len(col), emb.dimension)
    return x, table.column(label).to_pylist()


def _read_npz(path: Path, emb: EmbeddingSpec) -> tuple[NDArray[np.float64], list[Any]]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            if names != {"features", "labels"}:
                raise _malformed(path, "an .npz contribution holds exactly two arrays, features and labels",
                                 ", ".join(sorted(names)))
            features, labels = archive["features"], archive["labels"]
    except FileNotFoundError:
        raise _malformed(path, "file not found") from None
    except MalformedFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # not a zip, a pickled array, a truncated member
        raise _malformed(path, "not a readable .npz file (numpy.savez of numeric arrays)", str(exc)) from None
    if features.ndim != 2:
        raise _malformed(path, f"features: a matrix (rows, {emb.dimension}) expected", str(features.shape))
    if features.shape[1] != emb.dimension:
        raise _malformed(path, f"features: dimension {features.shape[1]}, the spec says {emb.dimension}")
    if features.dtype.kind not in "fiu":
        raise _malformed(path, "features: not a numeric array", str(features.dtype))
    if labels.ndim != 1 or len(labels) != len(features):
        raise _malformed(path, f"labels: one label per row expected ({len(features)})", str(labels.shape))
    if labels.dtype.kind not in "fiuUb":
        raise _malformed(path, "labels: numbers or strings expected", str(labels.dtype))
    return features.astype(np.float64), labels.tolist()


def file_format(path: Path) -> str | None:
    """``"parquet"`` or ``"npz"`` by the file's first bytes (fetched contributions are cached under their content
    hash, without a suffix), else None. A missing file is None too: the reader that opens it says so."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError:
        return None
    return "parquet" if head == b"PAR1" else "npz" if head == b"PK\x03\x04" else None


def read_embeddings(
    path: Path, emb: EmbeddingSpec, label: str, classes: Sequence[str] | None = None, numeric_label: bool = False,
) -> tuple[NDArray[np.float64], tuple[str, ...]]:
    """Read a Parquet or .npz embedding file and check it against the spec.

    Returns the vectors (l2-normalised when the distance is cosine) and the label cells as strings.

    Raises:
        MalformedFileError: Unreadable file, wrong suffix, columns or arrays, dimension, a non-finite
            component, a row off the unit sphere under ``normalization: "l2"``, a zero vector under
            ``distance: "cosine"``, no rows, or a bad label.
    """
    kind = file_format(path)
    if kind == "parquet":
        x, raw_labels = _read_parquet(path, emb, label)
    elif kind == "npz":
        x, raw_labels = _read_npz(path, emb)
    else:
        raise _malformed(path, "the model's spec names an embedding: a contribution is a .parquet or .npz file")
    if not len(x):
        raise _malformed(path, "no rows")
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        raise _malformed(path, f"row {int(np.flatnonzero(~finite)[0])}: a component is not a finite number")
    norms = np.linalg.norm(x, axis=1)
    if emb.normalization == "l2":
        off = np.abs(norms - 1.0) > L2_TOLERANCE
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise _malformed(path, f"row {i}: Euclidean norm {norms[i]:.6g}, the spec says l2-normalised "
                                   f"(within {L2_TOLERANCE:g} of 1)")
    if emb.distance == "cosine":
        if (norms == 0).any():
            raise _malformed(path, f"row {int(np.flatnonzero(norms == 0)[0])}: a zero vector has no cosine distance")
        x = x / norms[:, None]
    return x, _labels_of(path, raw_labels, label, classes, numeric_label)


def isotropic_standardizer(x_eval: NDArray[np.float64]) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """Centre on the evaluation mean and divide by the evaluation set's root-mean-square radius
    ``sqrt(mean |x_e - mean|^2)`` (the square root of the summed per-dimension variances).

    One scale for every dimension: distances are multiplied by one constant, so nearest neighbours and
    every ratio of distances (copy detection's test) are those of the representation itself. The outlier
    bound is then a radius: a row farther than `outlier_bound` RMS radii from the evaluation mean (the
    engine marks those; no coordinate of any other row can exceed the bound either). A per-coordinate
    bound in units of a per-dimension deviation would flag sparse rows: a text of two words has
    components near 0.7 where a dimension's deviation is 1/sqrt(n_features).
    """
    if len(x_eval) == 0:
        return lambda x: x
    mean = x_eval.mean(axis=0)
    radius = float(np.sqrt(np.sum(x_eval.var(axis=0))))
    scale = radius if radius > 0 else 1.0
    return lambda x: (x - mean) / scale


# --- text ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TextSpec:
    """The spec's ``text`` field: a deterministic featurizer of one text column.

    Attributes:
        column: The CSV column holding the text (the file has exactly it and the label).
        n_features: Hashing dimension (a power of two, 2**4 .. 2**20).
        ngram_range: Smallest and largest n-gram, in words.
        lowercase: Lower-case before tokenising.
        sublinear_tf: 1 + log(tf) instead of tf.
        svd_components: 0 = the l2-normalised TF-IDF vectors themselves (dense, ``n_features`` wide);
            else a TruncatedSVD to this many components fitted on the evaluation set (seeded with the
            spec's seed), then l2-normalised.
    """

    column: str = "text"
    n_features: int = 1024
    ngram_range: tuple[int, int] = (1, 1)
    lowercase: bool = True
    sublinear_tf: bool = True
    svd_components: int = 0

    def manifest(self) -> dict[str, Any]:
        return {"featurizer": "hashing_tfidf", "column": self.column, "n_features": self.n_features,
                "ngram_range": list(self.ngram_range), "lowercase": self.lowercase, "sublinear_tf": self.sublinear_tf,
                "svd_components": self.svd_components, "alternate_sign": False, "smooth_idf": True,
                "norm": "l2", "distance": "cosine", "token_pattern": _TOKEN_PATTERN}


_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default, named so a change of default cannot change the space


def parse_text(raw: Any, where: str) -> TextSpec:
    """Validate the spec's ``text`` object."""
    fields = {"column", "n_features", "ngram_range", "lowercase", "sublinear_tf", "svd_components"}
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}: field 'text' must be an object (fields: {', '.join(sorted(fields))})")
    unknown = set(raw) - fields
    if unknown:
        raise InputError(f"{where}: field 'text.{sorted(unknown)[0]}' is unknown (fields: {', '.join(sorted(fields))})")
    d = TextSpec()
    column = raw.get("column", d.column)
    if not isinstance(column, str) or not column:
        raise InputError(f"{where}: field 'text.column' must be a non-empty column name")
    n = raw.get("n_features", d.n_features)
    if not isinstance(n, int) or isinstance(n, bool) or n < 16 or n > 2**20 or n & (n - 1):
        raise InputError(f"{where}: field 'text.n_features' must be a power of two in [16, 1048576]")
    ngram = raw.get("ngram_range", list(d.ngram_range))
    if not (isinstance(ngram, list) and len(ngram) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                                 for v in ngram) and 1 <= ngram[0] <= ngram[1] <= 3):
        raise InputError(f"{where}: field 'text.ngram_range' must be [min, max] with 1 <= min <= max <= 3")
    flags = {}
    for key in ("lowercase", "sublinear_tf"):
        value = raw.get(key, getattr(d, key))
        if not isinstance(value, bool):
            raise InputError(f"{where}: field 'text.{key}' must be true or false")
        flags[key] = value
    svd = raw.get("svd_components", 0)
    if not isinstance(svd, int) or isinstance(svd, bool) or not 0 <= svd < n:
        raise InputError(f"{where}: field 'text.svd_components' must be 0 (no SVD) or an integer below n_features")
    return TextSpec(column, n, (ngram[0], ngram[1]), flags["lowercase"], flags["sublinear_tf"], svd)


def read_texts(
    path: Path, column: str, label: str, classes: Sequence[str] | None = None, numeric_label: bool = False,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Read a CSV of exactly a text column and a label column (rows numbered as lines, header = 1).

    Raises:
        MalformedFileError: As :func:`.table.read_table` for its header, cells and labels; an empty text.
    """
    import csv

    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise _malformed(path, "file not found") from None
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise _malformed(path, "not a readable CSV", str(exc)) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise _malformed(path, "empty file (expected a header row)")
    header = [h.strip() for h in rows[0]]
    for col, what in ((column, "text"), (label, "label")):
        if col not in header:
            raise _malformed(path, f"row 1, column {col!r}: missing {what} column")
    extra = [h for h in header if h not in (column, label)]
    if extra:
        raise _malformed(path, "row 1: unexpected column (the spec names the text and label columns only)", extra[0])
    if len(header) != 2:
        raise _malformed(path, "row 1: duplicate column name")
    t_pos, l_pos = header.index(column), header.index(label)
    texts: list[str] = []
    raw_labels: list[str] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise _malformed(path, f"row {line}: expected 2 cells, found {len(row)}")
        if not row[t_pos].strip():
            raise _malformed(path, f"row {line}, column {column!r}: empty text")
        if not re.search(_TOKEN_PATTERN, row[t_pos]):
            raise _malformed(path, f"row {line}, column {column!r}: no word (a run of two or more letters or digits)")
        texts.append(row[t_pos])
        raw_labels.append(row[l_pos])
    if not texts:
        raise _malformed(path, "no data rows after the header")
    labels = _labels_of(path, raw_labels, label, classes, numeric_label)
    return tuple(texts), labels


class TextFeaturizer:
    """Hashed TF-IDF (IDF from the evaluation set only), optionally a TruncatedSVD, l2-normalised rows.

    Args:
        spec: The spec's ``text`` field.
        seed: The spec's seed (TruncatedSVD's randomized solver).
    """

    def __init__(self, spec: TextSpec, seed: int = 0) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.spec, self.seed = spec, seed
        self._hasher = HashingVectorizer(
            n_features=spec.n_features, ngram_range=spec.ngram_range, lowercase=spec.lowercase,
            alternate_sign=False, norm=None, token_pattern=_TOKEN_PATTERN, dtype=np.float64,
        )
        self._tfidf: Any = None
        self._svd: Any = None

    def fit(self, texts: Sequence[str]) -> TextFeaturizer:
        """Fit the IDF weights (and the SVD) on the evaluation set's texts."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfTransformer

        counts = self._hasher.transform(texts)
        self._tfidf = TfidfTransformer(norm="l2", smooth_idf=True, sublinear_tf=self.spec.sublinear_tf).fit(counts)
        if self.spec.svd_components:
            k = min(self.spec.svd_components, max(1, min(counts.shape) - 1))
            self._svd = TruncatedSVD(k, algorithm="randomized", n_iter=7, random_state=self.seed).fit(
                self._tfidf.transform(counts))
        return self

    def transform(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Dense, l2-normalised row vectors (a text with no known token is the zero vector)."""
        if self._tfidf is None:
            raise RuntimeError("fit the featurizer on the evaluation set first")
        m = self._tfidf.transform(self._hasher.transform(texts))
        x = self._svd.transform(m) if self._svd is not None else m.toarray()
        x = np.ascontiguousarray(x, dtype=np.float64)
        norms = np.linalg.norm(x, axis=1)
        return x / np.where(norms > 0, norms, 1.0)[:, None]

    def manifest(self) -> dict[str, Any]:
        """The parameters and a hash of what was fitted (recorded in the round file)."""
        out = self.spec.manifest()
        if self._tfidf is not None:
            out["idf_sha256"] = hashlib.sha256(np.ascontiguousarray(self._tfidf.idf_, dtype="<f8").tobytes()).hexdigest()
        if self._svd is not None:
            out["svd_seed"] = self.seed
            out["svd_sha256"] = hashlib.sha256(
                np.ascontiguousarray(self._svd.components_, dtype="<f8").tobytes()).hexdigest()
        return out

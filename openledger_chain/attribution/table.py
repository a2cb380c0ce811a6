"""Strict CSV reading: numeric features and a label column, errors naming file, row and column.

Rows are numbered as lines of the file (the header is row 1). Columns are matched by name, so
files may order them differently; a contributor file must have exactly the evaluation file's
columns. Nothing in a contributor's file is executed or unpickled: it is parsed as text.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.labels import checked_label, malformed as _malformed

if TYPE_CHECKING:
    from openledger_chain.attribution.spec import Spec

__all__ = ["Table", "read_rows", "read_table"]


@dataclass(frozen=True)
class Table:
    """A parsed CSV: features in `columns` order and label strings."""

    path: Path
    columns: tuple[str, ...]
    x: NDArray[np.float64]
    labels: tuple[str, ...]
    #: The raw texts of a text spec (``x`` is then filled by the featurizer fitted on the evaluation set).
    texts: tuple[str, ...] | None = None


def read_table(
    path: Path, label: str, columns: Sequence[str] | None = None, classes: Sequence[str] | None = None,
    numeric_label: bool = False,
) -> Table:
    """Read a CSV with a header row, numeric feature columns and a label column.

    Args:
        path: The CSV file.
        label: Label column name (from the spec).
        columns: Required feature columns (from the evaluation file); None = all but the label.
        classes: Allowed label values; None = any.
        numeric_label: The label is a regression target: it must be a finite number.

    Raises:
        InputError: Missing/unreadable/empty file, missing or unexpected column, wrong number of
            cells, non-numeric or non-finite feature, empty label or label not in `classes`.
    """
    try:
        handle = path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        raise _malformed(path, "file not found") from None
    except OSError as exc:
        raise _malformed(path, "cannot read", str(exc)) from None
    with handle:
        try:
            rows = list(csv.reader(handle))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise _malformed(path, "not a readable CSV", str(exc)) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise _malformed(path, "empty file (expected a header row)")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise _malformed(path, "row 1: duplicate column name", dup)
    if label not in header:
        raise _malformed(path, f"row 1, column {label!r}: missing label column")
    wanted = [h for h in header if h != label] if columns is None else list(columns)
    for col in wanted:
        if col not in header:
            raise _malformed(path, f"row 1, column {col!r}: missing column")
    for col in header:
        if col != label and col not in wanted:
            raise _malformed(path, "row 1: unexpected column (not in the evaluation file)", col)
    if not wanted:
        raise _malformed(path, f"row 1: no feature columns besides the label {label!r}")
    body = [(n, r) for n, r in enumerate(rows[1:], start=2) if any(cell.strip() for cell in r)]
    if not body:
        raise _malformed(path, "no data rows after the header")
    positions = [header.index(c) for c in wanted]
    label_pos = header.index(label)
    allowed = set(classes) if classes is not None else None
    values: list[list[float]] = []
    labels: list[str] = []
    for line, row in body:
        if len(row) != len(header):
            raise _malformed(path, f"row {line}: expected {len(header)} cells, found {len(row)}")
        # float() ignores the same surrounding whitespace strip() removes; a row that fails is read again cell
        # by cell for the message (reading 100,000 ten-row files cell by cell into an array took ~19 s).
        try:
            floats = [float(row[pos]) for pos in positions]
        except ValueError:
            floats = []
        if len(floats) != len(positions) or not all(map(math.isfinite, floats)):
            _raise_bad_cell(path, line, row, wanted, positions)
        values.append(floats)
        labels.append(checked_label(path, line, label, row[label_pos], allowed, numeric_label))
    return Table(path, tuple(wanted), np.array(values, dtype=np.float64), tuple(labels))


def _raise_bad_cell(path: Path, line: int, row: Sequence[str], wanted: Sequence[str], positions: Sequence[int]) -> None:
    """Raise the error of the first cell of `row` that is not a finite number."""
    for col, pos in zip(wanted, positions):
        cell = row[pos].strip()
        try:
            value = float(cell)
        except ValueError:
            raise _malformed(path, f"row {line}, column {col!r}: not a number", cell) from None
        if not math.isfinite(value):
            raise _malformed(path, f"row {line}, column {col!r}: not a finite number", cell)


def read_rows(path: Path, spec: Spec, columns: Sequence[str] | None = None) -> Table:
    """Read a data file as the spec's representation asks: numeric CSV columns (:func:`read_table`), an
    embedding file (Parquet or .npz) or a CSV of texts (:mod:`.representation`).

    Args:
        path: The file.
        spec: The model spec (label, classes, task, representation).
        columns: CSV feature columns the file must have (numeric columns only; None = the spec's `features`).

    Raises:
        MalformedFileError: The file is not what the spec asks for.
    """
    from openledger_chain.attribution.representation import file_format, read_embeddings, read_texts

    numeric = spec.task == "regression"
    if spec.embedding is not None:
        x, labels = read_embeddings(path, spec.embedding, spec.label, spec.classes, numeric)
        return Table(path, tuple(f"{spec.embedding.column}[{j}]" for j in range(spec.embedding.dimension)), x, labels)
    if file_format(path) is not None:
        raise _malformed(path, "a Parquet or .npz file, but the model's spec takes CSV files (it names no embedding)")
    if spec.text is not None:
        texts, labels = read_texts(path, spec.text.column, spec.label, spec.classes, numeric)
        return Table(path, (spec.text.column,), np.zeros((len(texts), 0)), labels, texts)
    return read_table(path, spec.label, spec.features if columns is None else columns, spec.classes, numeric_label=numeric)

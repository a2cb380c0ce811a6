"""The checks every contribution reader (CSV columns, embeddings, text) applies to a label cell, and the error
for a file that is not what the spec asks for."""

from __future__ import annotations

import math
from pathlib import Path

from openledger_chain.errors import MalformedFileError


def malformed(path: Path, reason: str, value: str | None = None) -> MalformedFileError:
    """The error for a file that is not what the spec asks for: the message shows the file and the offending
    value (`value`: a cell, a column name of the file) to whoever reads it; the public reason shows neither."""
    return MalformedFileError(f"{path}: {reason}" + ("" if value is None else f": {value!r}"), reason)


def checked_label(path: Path, row: int, label: str, cell: str, allowed: set[str] | None, numeric_label: bool) -> str:
    """A label cell, stripped, or the file's malformed error: empty, not one of `allowed` (the spec's classes), or
    (`numeric_label`) not a finite number."""
    text = cell.strip()
    if not text:
        raise malformed(path, f"row {row}, column {label!r}: empty label")
    if allowed is not None and text not in allowed:
        raise malformed(path, f"row {row}, column {label!r}: label not in the spec's classes", text)
    if numeric_label:
        try:
            target = float(text)
        except ValueError:
            raise malformed(path, f"row {row}, column {label!r}: target not a number", text) from None
        if not math.isfinite(target):
            raise malformed(path, f"row {row}, column {label!r}: target not a finite number", text)
    return text

"""The contributions manifest (MANIFEST.json): registered contributions in registration order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from openledger_chain.address import normalize_address
from openledger_chain.attribution.spec import KINDS, read_json
from openledger_chain.errors import InputError

__all__ = ["Contribution", "load_manifest", "parse_manifest"]

_KEYS = {"id", "contributor", "kind", "path"}


@dataclass(frozen=True)
class Contribution:
    """One registered contribution.

    Attributes:
        id: Unique contribution id.
        contributor: EIP-55 checksummed address.
        kind: One of ``data``, ``annotation``, ``finetune``, ``compute``, ``evaluation``.
        path: The file, resolved against the manifest's directory.
        order: Registration position (0 = earliest).
    """

    id: str
    contributor: str
    kind: str
    path: Path
    order: int


def parse_manifest(raw: Any, base_dir: Path, where: str = "manifest") -> list[Contribution]:
    """Validate a decoded manifest list.

    Args:
        raw: Decoded JSON: a list of ``{"id", "contributor", "kind", "path"}`` objects.
        base_dir: Directory that relative paths are resolved against.
        where: File name for error messages.

    Raises:
        InputError: On a malformed entry, bad address, unknown kind, duplicate id, or an absolute
            or parent-escaping path; the message names the entry (row) and field (column).
    """
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise InputError(f"{where}: the manifest must be a JSON list of contributions")
    if not raw:
        raise InputError(f"{where}: the manifest lists no contributions")
    out: list[Contribution] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        at = f"{where}: row {i + 1}"
        if not isinstance(entry, Mapping):
            raise InputError(f"{at}: each contribution must be a JSON object")
        missing = _KEYS - set(entry)
        if missing:
            raise InputError(f"{at}, column {sorted(missing)[0]!r}: missing field")
        extra = set(entry) - _KEYS
        if extra:
            raise InputError(f"{at}, column {sorted(extra)[0]!r}: unknown field")
        cid = entry["id"]
        if not isinstance(cid, str) or not cid:
            raise InputError(f"{at}, column 'id': must be a non-empty string")
        if cid in seen:
            raise InputError(f"{at}, column 'id': duplicate id {cid!r}")
        seen.add(cid)
        contributor = normalize_address(entry["contributor"], where=f"{at}, column 'contributor'")
        kind = entry["kind"]
        if kind not in KINDS:
            raise InputError(f"{at}, column 'kind': unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
        rel = entry["path"]
        if not isinstance(rel, str) or not rel:
            raise InputError(f"{at}, column 'path': must be a non-empty string")
        pure = PurePosixPath(rel)
        if pure.is_absolute() or ".." in pure.parts:
            raise InputError(f"{at}, column 'path': {rel!r} must be relative to the manifest, without '..'")
        out.append(Contribution(cid, contributor, kind, base_dir / pure, i))
    return out


def load_manifest(path: str | Path) -> list[Contribution]:
    """Read and validate MANIFEST.json; file paths are relative to its directory."""
    path = Path(path)
    return parse_manifest(read_json(path), path.parent, str(path))

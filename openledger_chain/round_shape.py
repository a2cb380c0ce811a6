"""The shape of a round file (docs/round-file.md), checked once before anyone reads a field of it.

A round file comes from whoever hands it to you. Python's `int()` takes "1_000", " 7", "+7", "007" and
other scripts' digits, which a JavaScript client reading the same file (BigInt) rejects or reads
differently, and a duplicate account in `cumulative` collapses in a dict here but not in an array there:
the two would compute different roots from one file. So integers must be canonical decimal strings,
hashes and addresses the exact hex forms, and account lists strictly ascending (no duplicates).
Anything else is refused with one line naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from openledger_chain.errors import InputError

__all__ = ["check_round_file_shape"]

_UINT = re.compile(r"0|[1-9][0-9]*")
_INT = re.compile(r"0|-?[1-9][0-9]*")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_SIGNATURE = re.compile(r"0x[0-9a-fA-F]{130}")


def check_round_file_shape(data: Any, source: str) -> None:
    """Raise InputError (one line, naming `source` and the field) unless `data` has a round file's shape."""
    where = f"round file {source}"
    if not isinstance(data, dict) or not isinstance(data.get("body"), dict):
        raise InputError(f"{where} is malformed: it needs a JSON object with a \"body\" object")
    _match(data.get("roundFileHash"), _HASH, where, "roundFileHash")
    signatures = data.get("signatures", [])
    if not isinstance(signatures, list):
        raise InputError(f"{where} is malformed: \"signatures\" must be a list of 65-byte hex strings")
    for i, signature in enumerate(signatures):
        _match(signature, _SIGNATURE, where, f"signatures[{i}]")
    body = data["body"]
    for key in ("chainId", "modelId", "roundId", "emission", "cumulativeEmission", "deadline"):
        _match(body.get(key), _UINT, where, f"body.{key}")
    if "registryBlock" in body:  # since this stop; files proposed before it have none
        _match(body["registryBlock"], _UINT, where, "body.registryBlock")
    for key in ("distributor", "registry"):
        _match(body.get(key), _ADDRESS, where, f"body.{key}")
    for key in ("merkleRoot", "scoresHash", "methodHash"):
        _match(body.get(key), _HASH, where, f"body.{key}")
    method = body.get("method")
    if not isinstance(method, dict):
        raise InputError(f"{where} is malformed: body.method must be an object")
    for key in ("specHash", "evalHash"):
        _match(method.get(key), _HASH, where, f"body.method.{key}")
    inputs = _list(body, "inputs", where)
    ids = []
    for i, item in enumerate(inputs):
        field = f"body.inputs[{i}]"
        _object(item, where, field)
        _match(item.get("id"), _UINT, where, f"{field}.id")
        _match(item.get("contributor"), _ADDRESS, where, f"{field}.contributor")
        _match(item.get("contentHash"), _HASH, where, f"{field}.contentHash")
        for key in ("kind", "uri"):
            if not isinstance(item.get(key), str):
                raise InputError(f"{where} is malformed: {field}.{key} must be a string")
        ids.append(int(item["id"]))
    if len(set(ids)) != len(ids):
        raise InputError(f"{where} is malformed: body.inputs lists a contribution id twice")
    if "unsettled" in body:  # registrations still displaceable at registryBlock (openledger_chain.settlement)
        for i, item in enumerate(_list(body, "unsettled", where)):
            _object(item, where, f"body.unsettled[{i}]")
            for key in ("id", "settlesAt"):
                _match(item.get(key), _UINT, where, f"body.unsettled[{i}].{key}")
    _accounts(_list(body, "scores", where), where, "body.scores", {"score": _INT, "amount": _UINT})
    _accounts(_list(body, "cumulative", where), where, "body.cumulative", {"amount": _UINT})
    if not isinstance(body.get("tree"), dict):
        raise InputError(f"{where} is malformed: body.tree must be an object (a StandardMerkleTree dump)")
    _check_bonds(body, where)


def _check_bonds(body: dict[str, Any], where: str) -> None:
    """`bondsRoot` and the `bonds` block (issue 23; absent in files from before bonds): decisions by ascending
    contribution id, none twice, each released or forfeited."""
    if "bondsRoot" in body:
        _match(body["bondsRoot"], _HASH, where, "body.bondsRoot")
    if "bonds" not in body:
        return
    _object(body["bonds"], where, "body.bonds")
    decisions = body["bonds"].get("decisions")
    if not isinstance(decisions, list):
        raise InputError(f"{where} is malformed: body.bonds.decisions must be a list")
    previous = -1
    for i, item in enumerate(decisions):
        field = f"body.bonds.decisions[{i}]"
        _object(item, where, field)
        _match(item.get("id"), _UINT, where, f"{field}.id")
        _match(item.get("contributor"), _ADDRESS, where, f"{field}.contributor")
        _match(item.get("amount"), _UINT, where, f"{field}.amount")
        if item.get("outcome") not in ("released", "forfeited"):
            raise InputError(f"{where} is malformed: {field}.outcome is {_show(item.get('outcome'))}, expected "
                             "\"released\" or \"forfeited\"")
        if int(item["id"]) <= previous:
            raise InputError(f"{where} is malformed: {field}.id {item['id']} is not above the one before it "
                             "(decisions ascend by contribution id, none twice)")
        previous = int(item["id"])


def _match(value: Any, pattern: re.Pattern[str], where: str, field: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        expected = {_UINT: "a decimal string without sign, spaces or leading zeros",
                    _INT: "a decimal string without spaces or leading zeros", _HASH: "0x and 64 hex digits",
                    _ADDRESS: "0x and 40 hex digits", _SIGNATURE: "0x and 130 hex digits"}[pattern]
        raise InputError(f"{where} is malformed: {field} is {_show(value)}, expected {expected}")


def _list(body: dict[str, Any], key: str, where: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        raise InputError(f"{where} is malformed: body.{key} must be a list")
    return value


def _object(value: Any, where: str, field: str) -> None:
    if not isinstance(value, dict):
        raise InputError(f"{where} is malformed: {field} must be an object")


def _accounts(items: list[Any], where: str, field: str, numbers: dict[str, re.Pattern[str]]) -> None:
    """Entries with an `account` (strictly ascending as numbers: none twice) and the given number fields."""
    previous = -1
    for i, item in enumerate(items):
        _object(item, where, f"{field}[{i}]")
        _match(item.get("account"), _ADDRESS, where, f"{field}[{i}].account")
        for key, pattern in numbers.items():
            _match(item.get(key), pattern, where, f"{field}[{i}].{key}")
        account = int(item["account"], 16)
        if account <= previous:
            raise InputError(f"{where} is malformed: {field}[{i}].account {item['account']} is not above the one "
                             "before it (accounts ascend, none twice)")
        previous = account


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

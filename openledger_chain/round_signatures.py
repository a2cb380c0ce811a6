"""Oracle signatures gathered from many machines: detached signature files, and merging them (or signed
copies of the same round file) into one round file.

Each oracle recomputes and signs on its own machine and hands back something small: a detached signature
file names the round file it signs (chain, distributor, model, round, `roundFileHash`) and carries one
65-byte EIP-712 signature. Whoever submits merges any number of them: each must recover, for exactly this
round's typed data, to a current oracle; duplicates are dropped; the order is the contract's (ascending
signer). See docs/round-file.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import InputError
from openledger_chain.files import parse_json, write_public_file
from openledger_chain.oracle import RoundFile, read_round_file, write_round_file
from openledger_chain.rounds import recover_round_signer

SIGNATURE_FILE_KIND = "openledger-round-signature"
SIGNATURE_FILE_VERSION = "1"


@dataclass(frozen=True)
class DetachedSignature:
    """One oracle's signature of one round file, as handed back to whoever submits."""

    chain_id: int
    distributor: str
    model_id: int
    round_id: int
    round_file_hash: bytes
    signer: str
    signature: bytes

    def to_json(self) -> dict[str, str]:
        return {
            "kind": SIGNATURE_FILE_KIND,
            "version": SIGNATURE_FILE_VERSION,
            "chainId": str(self.chain_id),
            "distributor": self.distributor,
            "modelId": str(self.model_id),
            "roundId": str(self.round_id),
            "roundFileHash": "0x" + self.round_file_hash.hex(),
            "signer": self.signer,
            "signature": "0x" + self.signature.hex(),
        }


def detach(round_file: RoundFile, chain_id: int, distributor: str, signer: str) -> DetachedSignature:
    """`signer`'s signature in `round_file`, detached."""
    round_ = round_file.round
    for signature in round_file.signatures:
        if recover_round_signer(chain_id, distributor, round_, signature) == signer:
            return DetachedSignature(chain_id, distributor, round_.model_id, round_.round_id,
                                     round_file.round_file_hash, signer, signature)
    raise InputError(f"the round file holds no signature of {signer}")


def write_signature_file(path: Path, signature: DetachedSignature) -> None:
    if path.exists():
        raise InputError(f"{path} exists; choose another signature file name (one is never written over)")
    write_public_file(path, json.dumps(signature.to_json(), indent=1, sort_keys=True) + "\n")


@dataclass(frozen=True)
class Merged:
    """The round file with the signatures merged in; who was added, and how many were dropped as duplicates."""

    round_file: RoundFile
    added: tuple[str, ...]
    duplicates: int


def merge_signatures(ledger: OpenLedger, round_file: RoundFile, sources: Sequence[Path]) -> Merged:
    """`round_file` with the signatures of `sources` (detached signature files, or signed copies of the same
    round file) added, each checked to recover, for this round's typed data on this chain and distributor, to
    a current oracle; one signature per oracle (the first kept), in ascending signer order.

    Raises:
        InputError: a source is unreadable, is about another round file, chain or distributor, or holds a
            signature that does not recover to a current oracle.
    """
    chain_id, distributor, round_ = ledger.chain.chain_id, ledger.distributor.address, round_file.round
    by_signer: dict[str, bytes] = {}
    duplicates = 0

    def add(signature: bytes, where: str, stated_signer: str | None = None) -> None:
        nonlocal duplicates
        try:
            signer = recover_round_signer(chain_id, distributor, round_, signature)
        except (ValueError, TypeError) as exc:  # eth-keys refuses malformed signatures with ValueError
            raise InputError(f"{where} holds a malformed signature ({exc})") from exc
        if stated_signer is not None and signer != stated_signer:
            raise InputError(f"{where} says it is {stated_signer}'s signature, but it recovers to {signer} for this "
                             "round: it was made for other round data; ask that oracle to sign again")
        if not ledger.distributor.functions.isOracle(signer).call():
            raise InputError(f"{where} holds a signature of {signer}, which is not an oracle of distributor "
                             f"{distributor} (or it signed other round data)")
        if signer in by_signer:
            duplicates += 1
        else:
            by_signer[signer] = signature

    for signature in round_file.signatures:
        add(signature, "the round file")
    already = set(by_signer)
    for source in sources:
        for signature, stated_signer in _signatures_in(source, round_file, chain_id, distributor):
            add(signature, str(source), stated_signer)
    ordered = sorted(by_signer.items(), key=lambda item: int(item[0], 16))
    merged = RoundFile(round_file.body, round_file.round_file_hash, tuple(s for _, s in ordered))
    added = tuple(signer for signer, _ in ordered if signer not in already)
    return Merged(merged, added, duplicates)


def _signatures_in(source: Path, round_file: RoundFile, chain_id: int,
                   distributor: str) -> list[tuple[bytes, str | None]]:
    """(signature, the signer it states or None) of a signature file or a signed round file, checked to be
    about `round_file`."""
    if not source.is_file():
        raise InputError(f"signature file {source} not found")
    try:
        data: Any = parse_json(source.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{source} is neither a signature file nor a round file (not JSON: {exc})") from exc
    if isinstance(data, dict) and "body" in data:
        copy = read_round_file(source)
        _require_same_round(source, copy.round_file_hash, round_file)
        return [(s, None) for s in copy.signatures]
    if not isinstance(data, dict) or data.get("kind") != SIGNATURE_FILE_KIND:
        raise InputError(f"{source} is neither a signature file (`round sign --signature-out`) nor a round file")
    if data.get("version") != SIGNATURE_FILE_VERSION:
        raise InputError(f"signature file {source} has version {data.get('version')!r}; this toolkit reads "
                         f"{SIGNATURE_FILE_VERSION!r}")
    try:
        stated_chain, stated_distributor = int(data["chainId"]), to_checksum_address(data["distributor"])
        stated_hash = bytes.fromhex(_hex(data["roundFileHash"], 32))
        signer = to_checksum_address(data["signer"])
        signature = bytes.fromhex(_hex(data["signature"], 65))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"signature file {source} is malformed ({exc})") from exc
    if (stated_chain, stated_distributor) != (chain_id, distributor):
        raise InputError(f"signature file {source} is for chain id {stated_chain} and distributor "
                         f"{stated_distributor}, not chain id {chain_id} and {distributor}")
    _require_same_round(source, stated_hash, round_file)
    return [(signature, signer)]


def _require_same_round(source: Path, stated: bytes, round_file: RoundFile) -> None:
    if stated != round_file.round_file_hash:
        raise InputError(f"{source} signs round file 0x{stated.hex()}, not this one (0x{round_file.round_file_hash.hex()}); "
                         "every oracle must sign the same proposed file")


def _hex(value: Any, size: int) -> str:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 2 + 2 * size:
        raise ValueError(f"expected 0x and {2 * size} hex digits, got {value!r}")
    return value[2:]


def collect_signatures(ledger: OpenLedger, path: Path, sources: Sequence[Path]) -> Merged:
    """Merge the signatures of `sources` into the round file at `path` (rewritten only if one is added)."""
    round_file = read_round_file(path)
    merged = merge_signatures(ledger, round_file, sources)
    if merged.round_file.signatures != round_file.signatures:
        write_round_file(path, merged.round_file)
    return merged

"""Attribution rounds: the EIP-712 typed data the oracles sign, the on-chain score list hash, and the
canonical round file.

The signed struct mirrors `IRewardDistributor.Round`; the domain is
`("OpenLedger RewardDistributor", "1", chainId, distributor)`, so a signature is bound to one chain,
one distributor, one model and one round id, and it expires at the round's `deadline` (unix time; round
file version 3): a draft the oracles signed and then replaced cannot be submitted by anyone after it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_canonical_address

from openledger_chain.address import to_checksum_address
from openledger_chain.eip712 import typed_data
from openledger_chain.errors import InputError

DOMAIN_NAME = "OpenLedger RewardDistributor"
DOMAIN_VERSION = "1"
ROUND_FIELDS = [
    {"name": "modelId", "type": "uint256"},
    {"name": "roundId", "type": "uint256"},
    {"name": "merkleRoot", "type": "bytes32"},
    {"name": "emission", "type": "uint256"},
    {"name": "cumulativeEmission", "type": "uint256"},
    {"name": "scoresHash", "type": "bytes32"},
    {"name": "methodHash", "type": "bytes32"},
    {"name": "roundFileHash", "type": "bytes32"},
    {"name": "deadline", "type": "uint256"},
    {"name": "bondsRoot", "type": "bytes32"},
]


@dataclass(frozen=True)
class Round:
    """`IRewardDistributor.Round`."""

    model_id: int
    round_id: int
    merkle_root: bytes
    emission: int
    cumulative_emission: int
    scores_hash: bytes
    method_hash: bytes
    round_file_hash: bytes
    deadline: int
    # Issue 23 (contracts only so far): the round's bond-decisions root; zero while the toolkit decides no bond.
    bonds_root: bytes = b"\x00" * 32

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.model_id,
            self.round_id,
            self.merkle_root,
            self.emission,
            self.cumulative_emission,
            self.scores_hash,
            self.method_hash,
            self.round_file_hash,
            self.deadline,
            self.bonds_root,
        )

    def message(self) -> dict[str, Any]:
        return {field["name"]: value for field, value in zip(ROUND_FIELDS, self.as_tuple(), strict=True)}


@dataclass(frozen=True)
class ScoreEntry:
    """`IRewardDistributor.ScoreEntry`: a contributor's score and its stake. The oracle posts as score the
    contributor's share of the emission in `SCORE_SCALE` fixed point, and `amount` =
    `rewards.allocate_quantized(scores, emission)`, so the amounts follow from the on-chain list alone."""

    account: str
    score: int
    amount: int

    def as_tuple(self) -> tuple[str, int, int]:
        return (to_checksum_address(self.account), self.score, self.amount)

    def abi_values(self) -> tuple[bytes, int, int]:
        """The entry for eth-abi, the account as its 20 bytes: given as text, eth-abi would verify its
        checksum (a Keccak per entry, on every encoding of a 5,000-entry chunk)."""
        return (to_canonical_address(self.account), self.score, self.amount)


def round_typed_data(chain_id: int, distributor: str, round_: Round) -> dict[str, Any]:
    """The full EIP-712 message for `round_` on `distributor` at `chain_id`."""
    return typed_data(DOMAIN_NAME, DOMAIN_VERSION, chain_id, distributor, "Round", ROUND_FIELDS, round_.message())


def round_digest(chain_id: int, distributor: str, round_: Round) -> bytes:
    """The digest the contract recovers signers from (`RewardDistributor.roundDigest`)."""
    signable = encode_typed_data(full_message=round_typed_data(chain_id, distributor, round_))
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign_round(private_key: bytes | str, chain_id: int, distributor: str, round_: Round) -> bytes:
    """One oracle's 65-byte signature of `round_`."""
    signed = Account.sign_typed_data(private_key, full_message=round_typed_data(chain_id, distributor, round_))
    return bytes(signed.signature)


def recover_round_signer(chain_id: int, distributor: str, round_: Round, signature: bytes) -> str:
    return Account.recover_message(
        encode_typed_data(full_message=round_typed_data(chain_id, distributor, round_)), signature=signature
    )


def order_signatures(
    chain_id: int, distributor: str, round_: Round, signatures: Iterable[bytes]
) -> list[tuple[str, bytes]]:
    """Signatures as (signer, signature), in the strictly ascending signer order the contract requires.

    Raises:
        InputError: two signatures come from the same signer.
    """
    by_signer: dict[str, bytes] = {}
    for signature in signatures:
        signer = recover_round_signer(chain_id, distributor, round_, signature)
        if signer in by_signer:
            raise InputError(f"two signatures from the same oracle {signer}; each oracle signs once")
        by_signer[signer] = signature
    return sorted(by_signer.items(), key=lambda item: int(item[0], 16))


def sorted_score_entries(entries: Iterable[ScoreEntry]) -> list[ScoreEntry]:
    """Entries in the canonical (strictly ascending account) order the contract requires."""
    ordered = sorted(entries, key=lambda e: int(e.account, 16))
    for previous, entry in zip(ordered, ordered[1:]):
        if int(previous.account, 16) == int(entry.account, 16):
            raise InputError(f"score list names {to_checksum_address(entry.account)} twice")
    return ordered


def scores_hash(entries: Sequence[ScoreEntry]) -> bytes:
    """The running hash `publishScores` computes: `h = keccak256(abi.encode(h, account, score, amount))`
    per entry in ascending account order, from `h = 0`."""
    return scores_hash_prefix(entries, len(entries))


def scores_hash_prefix(entries: Sequence[ScoreEntry], count: int) -> bytes:
    """The running hash after the first `count` entries (in canonical order) are published."""
    running = b"\x00" * 32
    for entry in sorted_score_entries(entries)[:count]:
        running = keccak(abi_encode(["bytes32", "address", "int256", "uint256"], [running, *entry.abi_values()]))
    return running


# Every number in a round file's body is a string, so that any JSON parser reads it exactly (JavaScript's
# `JSON.parse` rounds integers above 2**53). The one exception is the Merkle tree dump, which keeps
# OpenZeppelin's format: its `treeIndex` values are small JSON integers. See docs/round-file.md.
MAX_JSON_INTEGER = 2**53 - 1
REAL_DECIMALS = 18


def to_round_json(value: Any) -> Any:
    """`value` with every integer written as a decimal string and every real number as a decimal string
    with exactly 18 fractional digits, rounded down (`0.5` -> `"0.500000000000000000"`).

    Raises:
        InputError: a NaN or infinite number (it has no decimal form).
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{value} cannot be written in a round file (not a finite number)")
        return _fixed_decimal(math.floor(Fraction(value) * 10**REAL_DECIMALS))
    if isinstance(value, dict):
        return {str(k): to_round_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_round_json(v) for v in value]
    raise InputError(f"{type(value).__name__} value {value!r} cannot be written in a round file")


def _fixed_decimal(scaled: int) -> str:
    sign = "-" if scaled < 0 else ""
    whole, fraction = divmod(abs(scaled), 10**REAL_DECIMALS)
    return f"{sign}{whole}.{fraction:0{REAL_DECIMALS}d}"


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of a round file's body (or its `method`): UTF-8 JSON with keys sorted, no
    whitespace, non-ASCII characters as themselves, i.e. what JavaScript's `JSON.stringify` makes of the
    same value with its keys sorted.

    Raises:
        InputError: `value` holds a non-integer number, or an integer too large for every JSON reader.
    """
    _require_exact_numbers(value, "body")
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800") is valid JSON but no UTF-8 encodes it
        raise InputError(f"body holds a string that is not valid Unicode ({exc.reason} at {exc.start})") from None


def canonical_hash(value: Any) -> bytes:
    return keccak(canonical_json(value))


def round_file_path(rounds_dir: Path, network: str, model_id: int, round_id: int) -> Path:
    """Where `round propose` writes a round's file, and where `status` and `claim` look for it."""
    return rounds_dir / network / f"model-{model_id}" / f"round-{round_id}.json"


def _require_exact_numbers(value: Any, where: str) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_JSON_INTEGER:
            raise InputError(f"{where} is the JSON number {value}, above 2**53; round files write it as a string")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _require_exact_numbers(item, f"{where}.{key}")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _require_exact_numbers(item, f"{where}[{index}]")
        return
    raise InputError(f"{where} is the number {value!r}; round files write real numbers as decimal strings")

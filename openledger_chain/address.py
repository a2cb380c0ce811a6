"""EVM addresses for every layer: validation (EIP-55 checksums on mixed case) with eth-utils.

One module so that the attribution engine, the allocator, the oracle and the CLI accept and print
addresses the same way. Keccak comes from eth-hash's C backends through eth-utils.
"""

from __future__ import annotations

from eth_utils import is_checksum_address, is_hex_address
from eth_utils import to_checksum_address as _to_checksum_address

from openledger_chain.errors import InputError

__all__ = ["is_address", "normalize_address", "to_checksum_address"]


def is_address(value: object) -> bool:
    """True for a 0x-prefixed 20-byte hex string whose mixed case, if any, is a valid EIP-55
    checksum (all-lower and all-upper hex carry no checksum and are accepted)."""
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 42 or not is_hex_address(value):
        return False
    body = value[2:]
    return body == body.lower() or body == body.upper() or is_checksum_address(value)


def normalize_address(value: object, where: str = "address") -> str:
    """Validate `value` (including a mixed-case checksum) and return it checksummed.

    Args:
        value: The candidate address.
        where: Context for the error message (file, row, field).

    Raises:
        InputError: If the address is malformed or its mixed-case checksum is wrong.
    """
    checksummed = _checksummed(value) if isinstance(value, str) else None
    if checksummed is None:
        raise InputError(f"{where}: bad address {value!r} (expected 0x + 40 hex digits with a valid checksum)")
    return checksummed


def _checksummed(value: str) -> str | None:
    """`value` checksummed, or None if it is not an address. A string already known to be its own checksummed form
    is valid without a keccak: a round of 100,000 contributors normalizes each address in the manifest (often lower
    case), then again in the scores (checksummed by then), ~60 us a keccak each uncached."""
    if _CONVERTED.get(value) == value:
        return value
    return to_checksum_address(value) if is_address(value) else None


#: Strings -> eth-utils' checksummed form (which, unlike normalize_address, does not check a mixed-case checksum); each
#: checksummed form is also a key, as itself. Bounded: a long-lived process (the indexer) meets many addresses.
_CONVERTED: dict[str, str] = {}
_CONVERTED_MAX = 1 << 19


def to_checksum_address(value: str | bytes) -> str:
    """eth-utils' ``to_checksum_address``, cached for strings: checking a round of 100,000 contributors compares each
    address in its tree, its cumulative amounts, its inputs and its score list (~60 us a keccak each, uncached)."""
    if not isinstance(value, str):
        return _to_checksum_address(value)
    found = _CONVERTED.get(value)
    if found is None:
        found = _to_checksum_address(value)
        if len(_CONVERTED) >= _CONVERTED_MAX:
            _CONVERTED.clear()
        _CONVERTED[value] = _CONVERTED[found] = found
    return found

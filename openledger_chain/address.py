"""EVM addresses for every layer: validation (EIP-55 checksums on mixed case) with eth-utils.

One module so that the attribution engine, the allocator, the oracle and the CLI accept and print
addresses the same way. Keccak comes from eth-hash's C backends through eth-utils.
"""

from __future__ import annotations

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

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
    if not is_address(value):
        raise InputError(f"{where}: bad address {value!r} (expected 0x + 40 hex digits with a valid checksum)")
    return to_checksum_address(str(value))

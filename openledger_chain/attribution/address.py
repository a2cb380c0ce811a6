"""EVM address validation and EIP-55 checksumming without eth libraries.

The attribution layer must not import web3 or eth-* packages (it runs inside the oracle but is
also used offline), so this module carries a small pure-Python Keccak-256: EIP-55 needs Keccak,
and `hashlib.sha3_256` is the NIST variant with different padding.
"""

from __future__ import annotations

import re

from openledger_chain.errors import InputError

__all__ = ["is_address", "keccak256", "to_checksum_address"]

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
_MASK = (1 << 64) - 1
_ROUND_CONSTANTS = [
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
]
_ROTATIONS = [
    [0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61],
    [28, 55, 25, 21, 56], [27, 20, 39, 8, 14],
]


def _rotl(value: int, shift: int) -> int:
    return ((value << shift) | (value >> (64 - shift))) & _MASK if shift else value


def _keccak_f(state: list[list[int]]) -> None:
    for rc in _ROUND_CONSTANTS:
        c = [state[x][0] ^ state[x][1] ^ state[x][2] ^ state[x][3] ^ state[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rotl(c[(x + 1) % 5], 1) for x in range(5)]
        for x in range(5):
            for y in range(5):
                state[x][y] ^= d[x]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rotl(state[x][y], _ROTATIONS[x][y])
        for x in range(5):
            for y in range(5):
                state[x][y] = b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y])
        state[0][0] ^= rc


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as used by Ethereum (original Keccak padding, not NIST SHA3).

    Args:
        data: Message bytes.

    Returns:
        The 32-byte digest.
    """
    rate = 136
    padded = bytearray(data) + b"\x01" + b"\x00" * ((rate - (len(data) + 1) % rate) % rate)
    padded[-1] |= 0x80
    state = [[0] * 5 for _ in range(5)]
    for offset in range(0, len(padded), rate):
        block = padded[offset : offset + rate]
        for i in range(rate // 8):
            state[i % 5][i // 5] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        _keccak_f(state)
    out = b"".join(state[i % 5][i // 5].to_bytes(8, "little") for i in range(4))
    return out


def is_address(value: object) -> bool:
    """Return True for a 0x-prefixed 20-byte hex string whose mixed case, if any, is a valid EIP-55
    checksum (all-lower and all-upper hex carry no checksum and are accepted)."""
    if not isinstance(value, str) or not _ADDRESS_RE.match(value):
        return False
    body = value[2:]
    if body == body.lower() or body == body.upper():
        return True
    return to_checksum_address(value) == value


def to_checksum_address(value: str) -> str:
    """Return the EIP-55 checksummed form of an address.

    Args:
        value: A 0x-prefixed 40-hex-digit address in any case.

    Returns:
        The checksummed address.

    Raises:
        InputError: If `value` is not a well-formed address.
    """
    if not isinstance(value, str) or not _ADDRESS_RE.match(value):
        raise InputError(f"bad address {value!r}: expected 0x followed by 40 hex digits")
    body = value[2:].lower()
    digest = keccak256(body.encode("ascii")).hex()
    return "0x" + "".join(ch.upper() if int(digest[i], 16) >= 8 else ch for i, ch in enumerate(body))


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

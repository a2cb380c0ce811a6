"""Scores -> integer token allocations that sum exactly to a round's emission.

Method (DESIGN.md, "Attribution"):

1. Quantize: every score becomes the integer ``floor(max(score, 0) * SCORE_SCALE)``, computed
   exactly from the float's binary value (``fractions.Fraction``), so the same scores give the
   same integers on every platform and can be posted on chain as they are.
2. Allocate by largest remainder (Hamilton's method): each address first gets
   ``floor(emission * q / Q)``; the few units left over go one each to the largest remainders
   ``emission * q mod Q``; equal remainders go to the lower address (compared as lowercase hex).

Properties (tested in tests/test_rewards.py): the allocations sum to ``emission`` exactly;
zero and negative scores get zero; every allocation is within one unit of its exact
proportional share ``emission * q / Q``. Consequently splitting one score over k identities can
change the split total by at most k units of the token's smallest denomination (wei) against the
unsplit share -- rounding, not value, and far below the gas cost of one extra identity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from numbers import Rational

from openledger_chain.address import normalize_address
from openledger_chain.errors import InputError

__all__ = ["MAX_UINT256", "SCORE_SCALE", "allocate", "allocate_quantized", "quantize"]

MAX_UINT256 = 2**256 - 1
#: Fixed-point scale of quantized scores: a score of 1.0 becomes 10**18.
SCORE_SCALE = 10**18


Score = float | int | Fraction


def quantize(scores: Mapping[str, Score], scale: int = SCORE_SCALE) -> dict[str, int]:
    """Quantize scores to non-negative integers ``floor(max(score, 0) * scale)``.

    Args:
        scores: Address -> score. Floats, ints and Fractions are all taken at their exact value.
        scale: Fixed-point scale.

    Returns:
        Checksummed address -> quantized score, in the input order.

    Raises:
        InputError: On a malformed or duplicated address, or a NaN, infinite or non-numeric score.
    """
    out: dict[str, int] = {}
    for address, score in scores.items():
        key = normalize_address(address, where="scores")
        if key in out:
            raise InputError(f"scores: address {key} appears twice (case-insensitively)")
        if isinstance(score, bool) or not isinstance(score, (int, float, Rational)):
            raise InputError(f"scores: score of {key} is not a number: {score!r}")
        if isinstance(score, float) and not math.isfinite(score):
            raise InputError(f"scores: score of {key} is not finite: {score!r}")
        out[key] = (Fraction(score) * scale).__floor__() if score > 0 else 0
    return out


def allocate_quantized(quantized: Mapping[str, int], emission: int) -> dict[str, int]:
    """Split `emission` in proportion to already-quantized integer scores, by largest remainder.

    Args:
        quantized: Checksummed address -> non-negative integer score.
        emission: Total to distribute, ``0 <= emission <= 2**256 - 1``.

    Returns:
        Address -> amount, same keys and order as `quantized`; the amounts sum to `emission`.

    Raises:
        InputError: If `emission` is out of range, a score is negative, or `emission > 0` and no
            score is positive (nobody to pay, so the sum could not equal the emission).
    """
    if isinstance(emission, bool) or not isinstance(emission, int) or not 0 <= emission <= MAX_UINT256:
        raise InputError(f"emission must be an integer in [0, 2**256-1], got {emission!r}")
    if any(q < 0 for q in quantized.values()):
        raise InputError("quantized scores must be non-negative")
    total = sum(quantized.values())
    if emission == 0:
        return {a: 0 for a in quantized}
    if total == 0:
        raise InputError("no positive score: the emission cannot be allocated")
    amounts: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for address, q in quantized.items():
        base, rem = divmod(emission * q, total)
        amounts[address] = base
        if q > 0:
            remainders.append((rem, address))
    leftover = emission - sum(amounts.values())
    # Largest remainder first; equal remainders go to the numerically lower address.
    remainders.sort(key=lambda item: (-item[0], item[1].lower()))
    # leftover < number of positive scores, since each floor loses less than one unit.
    for _, address in remainders[:leftover]:
        amounts[address] += 1
    return amounts


def allocate(scores: Mapping[str, Score], emission: int) -> dict[str, int]:
    """Allocate an integer emission to addresses in proportion to their scores.

    Scores are quantized first (:func:`quantize`), then split by largest remainder
    (:func:`allocate_quantized`), ties broken by address.

    Args:
        scores: Address (``0x`` + 40 hex digits, any case; mixed case must be a valid EIP-55
            checksum) -> score. Zero and negative scores get zero.
        emission: Total to distribute, a Python int in ``[0, 2**256 - 1]``.

    Returns:
        Checksummed address -> amount (int) for every input address; amounts sum to `emission`.

    Raises:
        InputError: Bad address, duplicate address, non-finite score, emission out of range, or a
            positive emission with no positive score.

    Example:
        >>> allocate({"0x" + "11" * 20: 1.0, "0x" + "22" * 20: 2.0}, 10)
        {'0x1111111111111111111111111111111111111111': 3, '0x2222222222222222222222222222222222222222': 7}
    """
    return allocate_quantized(quantize(scores), emission)

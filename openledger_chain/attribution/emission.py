"""Emission tied to measured improvement (issue 23): a round mints ``min(cap, rate * max(0, U_now - U_before))``.

``U_now`` is the spec's utility of all data valued in this round (``report.utility["all"]``: the
rows credited after copy detection and the second pass), and ``U_before`` that of the data valued
in the previous final round, **both on this round's evaluation set**, so a new evaluation set does
not count as progress: the oracle runs :func:`~openledger_chain.attribution.attribute` a second time,
on the previous final round's valued contributions and this round's evaluation set, and takes its
``utility["all"]``. Before the first final round, ``U_before`` is the utility of no data
(``utility["none"]``).

``rate`` is in stake-token units per 1.0 of utility (the utilities are accuracies in [0, 1]) and
``cap`` in stake-token units; both are the model's on-chain policy. The gain is computed exactly
(``fractions.Fraction`` of the float utilities), counted in whole steps of
:data:`UTILITY_RESOLUTION` (1e-9) and rounded down, against the minter, so every signer and
``verify`` get the same integer. The steps matter: the same rows valued in another pooled order
give utilities that differ by float rounding (2e-16 was measured in ``scripts/bond_report.py``),
which ``rate`` would otherwise turn into a few billion units minted for nothing; no real change of
an accuracy over an evaluation set is that small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from openledger_chain.attribution.engine import AttributionReport
from openledger_chain.errors import InputError

__all__ = ["UTILITY_RESOLUTION", "Improvement", "improvement_emission", "recorded_utility", "round_improvement"]

_UINT256 = 2**256
#: Gains in utility count in whole steps of this size (float rounding of a utility is ~1e-16).
UTILITY_RESOLUTION = Fraction(1, 10**9)


@dataclass(frozen=True)
class Improvement:
    """The two utilities of a round and what it mints."""

    u_now: float
    u_before: float
    emission: int


def improvement_emission(u_now: float | Fraction, u_before: float | Fraction, *, rate: int, cap: int) -> int:
    """``min(cap, floor(rate * max(0, u_now - u_before)))``, exact, the gain floored to whole
    :data:`UTILITY_RESOLUTION` steps first.

    The round file records each utility as a decimal with 18 fractional digits (rounded down); the oracle and
    ``verify`` both pass those decimals (:func:`recorded_utility`), so the emission is a function of what the
    file says, not of a float only the proposer saw.

    Raises:
        InputError: A utility that is not finite, or `rate`/`cap` not an integer in [0, 2**256).
    """
    for name, v in (("rate", rate), ("cap", cap)):
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < _UINT256:
            raise InputError(f"{name} must be an integer in [0, 2**256), got {v!r}")
    for name, u in (("U_now", u_now), ("U_before", u_before)):
        if isinstance(u, bool) or not isinstance(u, (int, float, Fraction)) or not math.isfinite(u):
            raise InputError(f"{name} must be a finite number, got {u!r}")
    steps = math.floor((Fraction(u_now) - Fraction(u_before)) / UTILITY_RESOLUTION)
    if steps <= 0:
        return 0
    return min(cap, math.floor(rate * steps * UTILITY_RESOLUTION))


def recorded_utility(text: str, where: str = "utility") -> Fraction:
    """A utility as a round file records it (a decimal string, e.g. ``"0.849629629629629629"``), exactly.

    Raises:
        InputError: Not a plain decimal number.
    """
    if not isinstance(text, str) or not text.strip() == text or not text or \
            not all(ch in "0123456789.-" for ch in text) or text.count(".") > 1 or "-" in text[1:]:
        raise InputError(f"{where} must be a decimal string such as \"0.5\", got {text!r}")
    try:
        return Fraction(text)
    except ValueError:
        raise InputError(f"{where} must be a decimal string such as \"0.5\", got {text!r}") from None


def round_improvement(now: AttributionReport, before: AttributionReport | None, *, rate: int, cap: int) -> Improvement:
    """The improvement emission of a round from the engine's reports.

    Args:
        now: This round's report.
        before: The report of the previous final round's valued contributions, run again on
            **this** round's evaluation set (None before the first final round).
        rate: Stake-token units per 1.0 of utility.
        cap: Most a round mints.

    Raises:
        InputError: The two reports measure different utilities, or name different evaluation sets.
    """
    u_now = float(now.utility["all"])
    if before is None:
        u_before = float(now.utility["none"])
    else:
        if before.utility.get("metric") != now.utility.get("metric"):
            raise InputError(f"U_before is {before.utility.get('metric')} and U_now {now.utility.get('metric')}: "
                             "value the previous round's data with this round's spec")
        if "evalHash" in now.method and before.method.get("evalHash") != now.method["evalHash"]:
            raise InputError("U_before was measured on another evaluation set than this round's; "
                             "value the previous round's data on this round's evaluation set")
        u_before = float(before.utility["all"])
    return Improvement(u_now, u_before, improvement_emission(u_now, u_before, rate=rate, cap=cap))

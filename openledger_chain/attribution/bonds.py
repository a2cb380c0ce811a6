"""Contribution bonds: which bonds a round releases and which it forfeits (issue 23).

A model may require a bond per contribution. The first final round that values a contribution
decides its bond: *released* (the contributor claims it back) or *forfeited* (credited to the
model's stake holders). This module is the off-chain rule the oracles sign and ``verify``
recomputes; it reads only an :class:`~openledger_chain.attribution.engine.AttributionReport` (and
the round file's list of inputs left out before valuation), never a chain.

The rule is conservative: a bond is forfeited only for what the data shows is bad beyond chance.
Per contribution, in this order (the first that applies is the reason):

1. ``malformed``: its file has the registered content hash but is not a valid file for the spec
   (``report.malformed``, or a round-file input excluded as ``malformed: ...``). The content is
   fixed by the hash, so this is no accident of the round.
2. ``undecryptable``: its registered URI serves an age file that opens to other bytes than the
   registered content hash, has a broken header, or -- when the proposer holds every committee
   epoch key (``keys_complete``) -- opens with none of them (:func:`classify_exclusion`).
3. ``outlier``: more than half of its rows lie beyond ``outlier_bound`` (25) evaluation standard
   deviations. Honest rows reach 16 on the gaming suite's data; one stray row in a large honest
   file does not cost the bond (the row is excluded and earns nothing anyway).
4. ``copy``: copy detection judged the whole file a *derivative* of one earlier contribution or
   of the evaluation set (``derivative_of``; :mod:`.dedup` rule 4, a count against what
   independent data lands near by chance), and the file has at least ``min_copy_rows`` (10) rows.
   Rule 4 compares a fraction of rows with what chance gives, which for a few rows is weak
   evidence: over ``scripts/bond_report.py``'s tiny honest contributions (two runs of 30 data-set x
   seed splits), rule 4 judged 26-60% of 1-row files derivative, up to 27% of 2-row and 6% of
   3-row files, 3 of 590 5-row files, and none of 570 8-row files, 210 10-row files or 450 whole
   honest files (10-84 rows). A smaller derivative file keeps its bond (its rows are still
   excluded and earn nothing). Rows excluded one by one as copies do not
   forfeit either: on coarse data (iris) honest rows repeat earlier measurements by chance.
5. ``harmful``: its value is negative and below what uniformly random labels at its own rows would
   earn by the noise test's margin (``noise_margin``, 3 by default), on the contribution's own
   rows -- ``Z_c = (value - M_c) / sqrt(Var_c) <= -margin`` with ``M_c``, ``Var_c`` the null moments
   of :mod:`.noise` -- or on its identity's rows of that kind while the contribution's own ``Z_c``
   is negative (a harmful file cannot hide among a few others of the same identity). Random labels
   score ``Z ~ N(0, 1)``: useless data is not harmful, and keeps its bond. One row's ``|Z|`` is at
   most ``sqrt(classes - 1)`` (1 with two classes, 1.41 with three), so no contribution of one
   row, nor of ``n`` rows whose labels all disagree with their neighbourhood while
   ``sqrt(n * (classes - 1)) < margin``, can be forfeited as harmful: small honest contributions
   cannot lose their bond by bad luck. With ``noise_margin`` 0 (the test off) or a method without
   closed-form null moments, nothing is forfeited as harmful.

Everything else is released: zero-valued and unpaid contributions (far-away junk, rows the noise
test does not pay, unattested compute claims), negative values within chance, contributions with a
few rows excluded. A contribution the round could not read for reasons that may not be its
contributor's (file not found, HTTP errors, time-outs, a hash mismatch at a mutable URI, a file
over the fetch limit) is *held*: this round does not value it, so it does not decide its bond.

The false-forfeit rate of honest contributions and the net result of every attack at three bond
levels are measured by ``scripts/bond_report.py`` and published in docs/attribution.md ("Bonds").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from openledger_chain.attribution.engine import ROW_KINDS, AttributionReport
from openledger_chain.merkle import StandardMerkleTree

__all__ = [
    "BOND_LEAF_ENCODING",
    "DECISION_CODES",
    "FORFEIT_REASONS",
    "MIN_COPY_ROWS",
    "OUTLIER_FRACTION",
    "BondDecision",
    "Outcome",
    "bond_summary",
    "bonds_root",
    "bonds_tree",
    "classify_exclusion",
    "decide_bonds",
]

Outcome = Literal["released", "forfeited", "held"]
#: Why a bond is forfeited, in the order the rule checks them.
FORFEIT_REASONS = ("malformed", "undecryptable", "outlier", "copy", "harmful")
#: Fraction of a contribution's rows beyond the outlier bound above which its bond is forfeited.
OUTLIER_FRACTION = 0.5
#: Fewest rows of a derivative contribution whose bond is forfeited as a copy.
MIN_COPY_ROWS = 10
#: Fetch exclusions (openledger_chain.fetch / confidential) that the contributor's own file causes.
_UNDECRYPTABLE = ("decrypts to other bytes than its registered content hash", "age header", "recipient stanzas")
#: ... and the one that is the contributor's only if the proposer holds every committee epoch key.
_NO_KEY_OPENS = "does not decrypt with the committee keys"


@dataclass(frozen=True)
class BondDecision:
    """What a round decides for one contribution's bond.

    Attributes:
        id: The contribution id.
        outcome: ``"released"``, ``"forfeited"`` or ``"held"`` (not valued this round: undecided).
        reason: For a forfeiture, one of :data:`FORFEIT_REASONS`; for a held bond, why the round
            did not value the contribution; None for a release.
        z: The contribution's own label-noise statistic ``Z_c`` (None when its labels cannot
            change its value, or it was not valued).
    """

    id: str
    outcome: Outcome
    reason: str | None = None
    z: float | None = None


def classify_exclusion(reason: str, *, keys_complete: bool = True) -> Literal["malformed", "undecryptable", "unavailable"]:
    """Sort a round file's input exclusion (``inputs[i]["excluded"]``) into what decides a bond.

    ``malformed: ...`` (the engine read the registered bytes and refused them) and the decryption
    failures of a file the contributor encrypted (``undecryptable``: an age file that opens to other
    bytes than the registered hash, a broken age header, or -- when `keys_complete`, the proposer
    holding every committee epoch key -- one that no committee key opens) are the contributor's
    doing; everything else (not found, HTTP errors, time-outs, hash mismatch, size limit, URI
    problems, no committee key held here) is ``unavailable``: the round holds the bond.
    """
    if reason.startswith("malformed:"):
        return "malformed"
    if any(marker in reason for marker in _UNDECRYPTABLE) or (keys_complete and _NO_KEY_OPENS in reason):
        return "undecryptable"
    return "unavailable"


def _z(total: float, mean: float, var: float) -> float | None:
    return None if var <= 0 else (total - mean) / math.sqrt(var)


def decide_bonds(
    report: AttributionReport,
    *,
    excluded_inputs: Mapping[str, str] | None = None,
    noise_margin: float | None = None,
    min_copy_rows: int = MIN_COPY_ROWS,
    keys_complete: bool = True,
) -> dict[str, BondDecision]:
    """Apply the forfeiture rule (module docstring) to one round.

    Args:
        report: The engine's report of the round (:func:`~openledger_chain.attribution.attribute`).
        excluded_inputs: Contribution id -> the round file's exclusion of an input left out before
            valuation (``inputs[i]["excluded"]``: fetch failures, ``malformed: ...``).
        noise_margin: The noise test's margin; default: the one the round used
            (``report.method["noise_margin"]``). 0 turns the ``harmful`` reason off.
        min_copy_rows: Fewest rows of a derivative contribution whose bond is forfeited.
        keys_complete: Whether the proposer holds every committee epoch key; if not, a file that no
            key held opens is held, not forfeited (:func:`classify_exclusion`).

    Returns:
        Contribution id -> :class:`BondDecision`, for every contribution in the report, in its
        ``malformed`` list, and in `excluded_inputs`.
    """
    margin = float(report.method.get("noise_margin", 0.0) if noise_margin is None else noise_margin)
    decisions: dict[str, BondDecision] = {}
    for cid, why in (excluded_inputs or {}).items():
        kind = classify_exclusion(why, keys_complete=keys_complete)
        decisions[cid] = (BondDecision(cid, "held", why) if kind == "unavailable" else BondDecision(cid, "forfeited", kind))
    for cid in report.malformed:
        decisions[cid] = BondDecision(cid, "forfeited", "malformed")

    identity: dict[tuple[str, str], list[float]] = {}
    for c in report.contributions:
        if c.kind in ROW_KINDS:
            m = identity.setdefault((c.contributor.lower(), c.kind), [0.0, 0.0, 0.0])
            m[0] += c.value
            m[1] += c.null_mean
            m[2] += c.null_var
    for c in report.contributions:
        z_c = _z(c.value, c.null_mean, c.null_var) if c.kind in ROW_KINDS else None
        reason: str | None = None
        if c.rows and c.excluded.get("outlier", 0) > OUTLIER_FRACTION * c.rows:
            reason = "outlier"
        elif c.derivative_of is not None and c.rows >= min_copy_rows:
            reason = "copy"
        elif margin > 0 and c.value < 0 and z_c is not None:
            z_id = _z(*identity[(c.contributor.lower(), c.kind)])
            if z_c <= -margin or (z_id is not None and z_id <= -margin and z_c < 0):
                reason = "harmful"
        decisions[c.id] = BondDecision(c.id, "released" if reason is None else "forfeited", reason, z_c)
    return decisions


def bond_summary(decisions: Mapping[str, BondDecision]) -> dict[str, Any]:
    """Counts per outcome and per forfeiture reason (what a round file or a CLI table shows)."""
    out: dict[str, Any] = {"released": 0, "forfeited": 0, "held": 0, "reasons": {}}
    for d in decisions.values():
        out[d.outcome] += 1
        if d.outcome == "forfeited":
            out["reasons"][d.reason] = out["reasons"].get(d.reason, 0) + 1
    return out



# ----- the bonds tree a round signs (its root is the Round's `bondsRoot`)

#: A leaf of the bonds tree: `(uint256 contributionId, uint8 decision)`, as `ContributionBonds` hashes it.
BOND_LEAF_ENCODING = ("uint256", "uint8")
#: `IContributionBonds.BondDecision` of each outcome a round decides (a held bond is not in the tree).
DECISION_CODES = {"released": 1, "forfeited": 2}
_ZERO_ROOT = "0x" + "00" * 32


def bonds_tree(decisions: Sequence[tuple[int, str]]) -> StandardMerkleTree | None:
    """The OpenZeppelin StandardMerkleTree (double-hashed leaves) of `(contribution id, outcome)` pairs, the
    tree whose proofs ``ContributionBonds.applyBondDecisions`` checks; None when the round decides no bond.

    Raises:
        ValueError: an outcome other than ``released`` or ``forfeited``.
    """
    if not decisions:
        return None
    leaves = []
    for cid, outcome in decisions:
        if outcome not in DECISION_CODES:
            raise ValueError(f"bond decision of contribution {cid} is {outcome!r}; a round decides released or forfeited")
        leaves.append((int(cid), DECISION_CODES[outcome]))
    return StandardMerkleTree.of(leaves, list(BOND_LEAF_ENCODING))


def bonds_root(decisions: Sequence[tuple[int, str]]) -> str:
    """The root of :func:`bonds_tree` as 0x hex; 32 zero bytes when the round decides no bond (the contract
    then has no root for the round, and nothing can be applied from it)."""
    tree = bonds_tree(decisions)
    return _ZERO_ROOT if tree is None else tree.root

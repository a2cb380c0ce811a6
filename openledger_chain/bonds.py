"""Contribution bonds after a round (issue 23): send a final round's bond decisions, claim bonds back, and say
where an account's bonds stand.

A round decides bonds through the `bondsRoot` its oracles sign (:mod:`openledger_chain.oracle`); once the round is
final anyone sends its decisions (`applyBondDecisions`) with their proofs, built from the round file's `bonds`
block. The vault skips bonds already decided, so sending twice, or after someone else, costs only gas; this
module leaves those out before sending. The bond rule itself is :mod:`openledger_chain.attribution.bonds`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.logs import DISCARD
from web3.types import TxReceipt

from openledger_chain.attribution.bonds import DECISION_CODES, bonds_tree
from openledger_chain.contracts import OpenLedger
from openledger_chain.oracle import ZERO_BONDS_ROOT, RoundError, read_round_file
from openledger_chain.sources import EventSource, chain_unless_given
from openledger_chain.types import Bond

__all__ = ["AppliedBonds", "BondStanding", "apply_round_bonds", "bond_standing", "claim_bonds"]


@dataclass(frozen=True)
class AppliedBonds:
    """What `apply_round_bonds` did: the ids it sent released and forfeited, those it skipped (decided already,
    by this round or another), and the receipt (None when nothing was left to send)."""

    released: list[int]
    forfeited: list[int]
    skipped: list[int]
    receipt: TxReceipt | None


def apply_round_bonds(ledger: OpenLedger, path: Path, sender: LocalAccount) -> AppliedBonds:
    """Send the bond decisions of the final round in round file `path` that are not applied yet, in one call.

    Raises:
        RoundError: the round decides no bond, or is not final with the root the file lists (pending, vetoed,
            another round's file, or altered decisions).
    """
    round_file = read_round_file(path)
    round_ = round_file.round
    decisions = round_file.body.get("bonds", {}).get("decisions", [])
    pairs = [(int(d["id"]), d["outcome"]) for d in decisions]
    tree = bonds_tree(pairs)
    where = f"round {round_.round_id} of model {round_.model_id}"
    if tree is None or "0x" + round_.bonds_root.hex() == ZERO_BONDS_ROOT:
        raise RoundError(f"{where} decides no bond ({path} lists no bond decisions): nothing to apply")
    if tree.root != "0x" + round_.bonds_root.hex():
        raise RoundError(f"{path} lists bond decisions that do not hash to the round's bondsRoot: get the published "
                         "round file")
    on_chain = ledger.bonds_root(round_.model_id, round_.round_id)
    if on_chain != round_.bonds_root:
        state = "not final yet (or vetoed)" if on_chain == bytes(32) else "final with another bondsRoot"
        raise RoundError(f"{where} is {state}: bond decisions apply once the round in {path} is final "
                         "(`openledger round finalize`)")
    todo, skipped = [], []
    for cid, outcome in pairs:
        if ledger.bond_of(cid).status != "held":
            skipped.append(cid)
            continue
        proof = [bytes.fromhex(p[2:]) for p in tree.get_proof((cid, DECISION_CODES[outcome]))]
        todo.append((cid, DECISION_CODES[outcome], proof))
    if not todo:
        return AppliedBonds([], [], skipped, None)
    receipt = ledger.apply_bond_decisions(sender, round_.model_id, round_.round_id, todo)
    vault = ledger.bond_vault()
    released = [int(e["args"]["contributionId"]) for e in vault.events.BondReleased().process_receipt(receipt, errors=DISCARD)]
    forfeited = [int(e["args"]["contributionId"])
                 for e in vault.events.BondForfeited().process_receipt(receipt, errors=DISCARD)]
    return AppliedBonds(released, forfeited, skipped, receipt)


@dataclass
class BondStanding:
    """An account's bonds, by status, in the payment token's base units; `claimable` lists the contribution ids
    `claim_bonds` would pay now (released bonds, and refunds of withdrawn contributions that are due)."""

    held: int = 0
    released: int = 0  # released and not yet claimed
    forfeited: int = 0
    paid: int = 0  # claimed back
    claimable: list[int] = field(default_factory=list)
    bonds: list[Bond] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"held": str(self.held), "released": str(self.released), "forfeited": str(self.forfeited),
                "paid": str(self.paid), "claimable": [str(c) for c in self.claimable],
                "bonds": [{"id": str(b.contribution_id), "amount": str(b.amount), "status": b.status,
                           "forfeitableUntilRound": str(b.forfeitable_until_round)} for b in self.bonds]}


def bond_standing(ledger: OpenLedger, account: str, model_id: int | None = None,
                  source: EventSource | None = None) -> BondStanding:
    """Where `account`'s bonds stand: its contributions from `source` (a chain scan by default, or an index), each
    bond from the vault's view, so the answer is the chain's now."""
    account = to_checksum_address(account)
    standing = BondStanding()
    if ledger.bonds is None:
        return standing
    final_round: dict[int, int] = {}
    for c in chain_unless_given(ledger, source).contributions(model_id):
        if to_checksum_address(c.contributor) != account:
            continue
        bond = ledger.bond_of(c.contribution_id)
        if bond.status == "none":
            continue
        standing.bonds.append(bond)
        if bond.status == "held":
            standing.held += bond.amount
            if bond.forfeitable_until_round:  # withdrawn: refundable once a later round is final
                if c.model_id not in final_round:
                    final_round[c.model_id] = int(ledger.distributor.functions.finalizedRound(c.model_id).call()[1])
                if final_round[c.model_id] > bond.forfeitable_until_round:
                    standing.claimable.append(c.contribution_id)
        elif bond.status == "released":
            standing.released += bond.amount
            standing.claimable.append(c.contribution_id)
        elif bond.status == "forfeited":
            standing.forfeited += bond.amount
        else:
            standing.paid += bond.amount
    return standing


def claim_bonds(ledger: OpenLedger, contributor: LocalAccount, contribution_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Claim each bond back, one transaction each; returns (contribution id, amount) per claim.

    Raises:
        ContractRevertError: a bond that is not claimable (named by the vault's error, before anything is sent
            for it; the claims before it stand).
    """
    return [(cid, ledger.claim_bond(contributor, cid)[0]) for cid in contribution_ids]

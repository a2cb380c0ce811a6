"""Claims rebuilt from the chain alone: no round file, no oracle.

The cumulative amounts of a model's final rounds follow from their published score lists; their Merkle
tree must have exactly the root the distributor holds (otherwise the chain's lists do not justify the
root, and nothing is claimed). The proof comes from that tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.logs import DISCARD
from web3.types import TxReceipt

from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import OpenLedgerError
from openledger_chain.history import cumulative_from_lists, cumulative_tree
from openledger_chain.sources import EventSource, chain_unless_given
from openledger_chain.units import format_amount


class ClaimError(OpenLedgerError):
    """Nothing can be claimed."""


class UnjustifiedRootError(ClaimError):
    """The chain's published score lists do not give the root the distributor holds."""


@dataclass(frozen=True)
class ClaimableStake:
    model_id: int
    round_id: int
    account: str
    cumulative: int  # the account's leaf in the latest final round
    claimed: int
    proof: list[bytes]

    @property
    def amount(self) -> int:
        return self.cumulative - self.claimed


def claimable_from_chain(ledger: OpenLedger, model_id: int, account: str,
                         source: EventSource | None = None) -> ClaimableStake:
    """What `account` can claim on `model_id` now, with the proof, rebuilt from the published lists (read
    from `source`: a chain scan by default, or an index, `openledger_chain.indexer.reads.IndexSource`).

    Raises:
        ClaimError: no final round, the lists do not give the on-chain root, or no stake for the account.
    """
    account = to_checksum_address(account)
    root, round_id, _, _ = ledger.distributor.functions.finalizedRound(model_id).call()
    if round_id == 0:
        raise ClaimError(f"model {model_id} has no final round yet; nothing to claim")
    cumulative = cumulative_from_lists(chain_unless_given(ledger, source).rounds(model_id), through_round=round_id)
    tree = cumulative_tree(cumulative)
    if tree.root != "0x" + bytes(root).hex():
        raise UnjustifiedRootError(
            f"the published score lists of model {model_id} give root {tree.root}, not the final root "
            f"0x{bytes(root).hex()}: the chain does not justify it; run `openledger verify --model {model_id} "
            f"--round {round_id}` and tell the guardian"
        )
    amount = cumulative.get(account, 0)
    if amount == 0:
        raise ClaimError(f"{account} has no stake in model {model_id} (through round {round_id}); nothing to claim")
    index = next(i for i, (a, _) in tree if to_checksum_address(a) == account)
    proof = [bytes.fromhex(p[2:]) for p in tree.get_proof(index)]
    claimed = int(ledger.distributor.functions.claimed(model_id, account).call())
    return ClaimableStake(model_id, round_id, account, amount, claimed, proof)


def claim_from_chain(ledger: OpenLedger, model_id: int, account: str, sender: LocalAccount,
                     source: EventSource | None = None) -> tuple[int, TxReceipt]:
    """Claim `account`'s stake on `model_id` with a proof rebuilt from the chain; returns (minted, receipt).

    Raises:
        ClaimError: see `claimable_from_chain`, or everything is already claimed.
    """
    stake = claimable_from_chain(ledger, model_id, account, source)
    if stake.amount <= 0:
        raise ClaimError(f"{stake.account} already claimed all its {format_amount(stake.cumulative, exact=True)} "
                         f"stake in model {model_id}; more can be claimed once a later round allocates more")
    function = ledger.distributor.functions.claim(model_id, stake.account, stake.cumulative, stake.proof)
    receipt = ledger.chain.transact(function, sender)
    (event,) = ledger.distributor.events.Claimed().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["amount"]), receipt


def claim_all_from_chain(ledger: OpenLedger, account: str, sender: LocalAccount,
                         source: EventSource | None = None) -> tuple[list[ClaimableStake], TxReceipt]:
    """Claim `account`'s unclaimed stake on every model in one `claimMany`; returns what it claimed.

    Raises:
        ClaimError: nothing to claim on any model.
    """
    model_count = int(ledger.registry.functions.modelCount().call())
    stakes = []
    for model_id in range(1, model_count + 1):
        try:
            stake = claimable_from_chain(ledger, model_id, account, source)
        except UnjustifiedRootError:
            raise
        except ClaimError:
            continue  # no final round, or no stake for the account: nothing to claim there
        if stake.amount > 0:
            stakes.append(stake)
    if not stakes:
        raise ClaimError(f"{to_checksum_address(account)} has nothing to claim on any of the {model_count} models")
    batch = [(s.model_id, s.account, s.cumulative, s.proof) for s in stakes]
    receipt = ledger.chain.transact(ledger.distributor.functions.claimMany(batch), sender)
    return stakes, receipt

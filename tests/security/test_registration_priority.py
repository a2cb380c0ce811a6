"""Audit M-3: a content hash goes to whoever committed to it first, not whoever revealed first.

The attack: a relayer handed alice's signed registration reads the content hash, commits to it for
itself (blocks after alice's commitment), registers a block later and only then relays alice's.
Before the fix alice's registration reverted with DuplicateContent; now it displaces the relayer's,
whose contribution is marked displaced (the oracle leaves it out). Commitments must be revealed within
REVEAL_PERIOD_BLOCKS, which bounds how long any registration can still be displaced.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from eth_utils import keccak

from openledger_chain.errors import ContractRevertError
from openledger_chain.types import ContributionKind

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import event_args, revert_of  # noqa: E402

CONTENT = keccak(text="alice's data set")
DATA = ContributionKind.DATA
ALICE_SALT, THIEF_SALT = keccak(text="alice salt"), keccak(text="thief salt")


def _commit(ledger, payer, model_id, contributor, salt, content=CONTENT):
    commitment = ledger.commitment(model_id, contributor, DATA, content, salt)
    ledger.commit(payer, [commitment])
    return commitment


def _register(ledger, sender, model_id, salt, content=CONTENT):
    call = ledger.registry.functions.registerContribution(model_id, int(DATA), content, "ipfs://c", salt)
    receipt = ledger.chain.transact(call, sender)
    (event,) = event_args(ledger.registry, "ContributionRegistered", receipt)
    return event["contributionId"], receipt


def test_front_running_relayer_is_displaced_by_the_earlier_commitment(ledger, accounts, model):
    alice, thief = accounts.alice, accounts.stranger
    _commit(ledger, alice, model.model_id, alice.address, ALICE_SALT)
    deadline, signature = ledger.sign_contribution(alice, model.model_id, DATA, CONTENT, "ipfs://c", ALICE_SALT)
    # The relayer reads the content hash from the signed message, commits for itself and registers first.
    _commit(ledger, thief, model.model_id, thief.address, THIEF_SALT)
    thief_id, _ = _register(ledger, thief, model.model_id, THIEF_SALT)
    # Alice's registration, relayed (by anyone) afterwards, still wins: her commitment is older.
    receipt = ledger.chain.transact(ledger.registry.functions.registerContributionFor(
        model.model_id, int(DATA), CONTENT, "ipfs://c", ALICE_SALT, alice.address, deadline, signature), thief)
    (registered,) = event_args(ledger.registry, "ContributionRegistered", receipt)
    alice_id = registered["contributionId"]
    assert event_args(ledger.registry, "ContributionDisplaced", receipt) == [
        {"contributionId": thief_id, "byContributionId": alice_id, "modelId": model.model_id}]
    assert ledger.registry.functions.contributionByContent(model.model_id, CONTENT).call() == alice_id
    assert ledger.registry.functions.getContribution(thief_id).call()[4] is True  # displaced
    # The oracle's view: the thief's contribution is out of every round.
    by_id = {c.contribution_id: c for c in ledger.contributions(model.model_id)}
    assert by_id[thief_id].displaced and not by_id[alice_id].displaced


def test_later_commitment_cannot_displace_and_a_tie_keeps_the_first_registration(ledger, accounts, model):
    alice, thief = accounts.alice, accounts.stranger
    _commit(ledger, alice, model.model_id, alice.address, ALICE_SALT)
    alice_id, _ = _register(ledger, alice, model.model_id, ALICE_SALT)
    _commit(ledger, thief, model.model_id, thief.address, THIEF_SALT)
    with pytest.raises(ContractRevertError) as info:
        _register(ledger, thief, model.model_id, THIEF_SALT)
    assert revert_of(info) == ("ContributionRegistryDuplicateContent", (model.model_id, CONTENT, alice_id))
    # Same block: both commitments in one transaction; whoever registers first keeps the content.
    other = keccak(text="tied content")
    ledger.commit(accounts.payer, [ledger.commitment(model.model_id, a.address, DATA, other, ALICE_SALT)
                                   for a in (alice, thief)])
    first_id, _ = _register(ledger, thief, model.model_id, ALICE_SALT, other)
    with pytest.raises(ContractRevertError) as info:
        _register(ledger, alice, model.model_id, ALICE_SALT, other)
    assert revert_of(info) == ("ContributionRegistryDuplicateContent", (model.model_id, other, first_id))


def test_commitments_expire_after_the_reveal_period_and_can_be_renewed(ledger, accounts, model):
    alice = accounts.alice
    period = ledger.registry.functions.REVEAL_PERIOD_BLOCKS().call()
    assert period == 256
    commitment = _commit(ledger, alice, model.model_id, alice.address, ALICE_SALT)
    committed_at = ledger.registry.functions.commitmentBlock(commitment).call()
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.mine_blocks(period)  # the registration would land in block committed_at + period + 1
    with pytest.raises(ContractRevertError) as info:
        _register(ledger, alice, model.model_id, ALICE_SALT)
    assert revert_of(info) == ("ContributionRegistryCommitmentExpired", (commitment, committed_at))
    # An expired commitment is renewed by committing again (a live one keeps its first block).
    _commit(ledger, alice, model.model_id, alice.address, ALICE_SALT)
    renewed_at = ledger.registry.functions.commitmentBlock(commitment).call()
    assert renewed_at > committed_at + period
    _commit(ledger, alice, model.model_id, alice.address, ALICE_SALT)
    assert ledger.registry.functions.commitmentBlock(commitment).call() == renewed_at
    _register(ledger, alice, model.model_id, ALICE_SALT)


def test_an_old_commitment_cannot_displace_a_settled_registration(ledger, accounts, model):
    """An attacker who committed early but waited past the reveal period cannot take the content later."""
    alice, thief = accounts.alice, accounts.stranger
    _commit(ledger, thief, model.model_id, thief.address, THIEF_SALT)
    _commit(ledger, alice, model.model_id, alice.address, ALICE_SALT)
    alice_id, _ = _register(ledger, alice, model.model_id, ALICE_SALT)
    ledger.chain.w3.provider.ethereum_tester.mine_blocks(256)
    with pytest.raises(ContractRevertError) as info:
        _register(ledger, thief, model.model_id, THIEF_SALT)
    assert revert_of(info)[0] == "ContributionRegistryCommitmentExpired"
    assert ledger.registry.functions.contributionByContent(model.model_id, CONTENT).call() == alice_id

"""Claims only at the latest root (issue 24, N-5, which reverses audit L-2), I-1 (pausing did not stop the challenge clock)
and I-3 (a model's owner could never change)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from openledger_chain.errors import ContractRevertError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import event_args, revert_of  # noqa: E402
from _ledger_setup import CHALLENGE_WINDOW, EMISSION_PER_ROUND  # noqa: E402
from _round_helpers import build_round, challenge_ends_at, claim, publish, run_round, submit  # noqa: E402


def _two_rounds(ledger, accounts, model):
    half = EMISSION_PER_ROUND // 2
    allocation = {accounts.alice.address: half, accounts.bob.address: half}
    first = run_round(ledger, build_round(model.model_id, 1, allocation), accounts.oracles[:2], accounts.payer)
    second = run_round(ledger, build_round(model.model_id, 2, allocation, previous=first), accounts.oracles[:2],
                       accounts.payer)
    return first, second


def _balance(ledger, model, account):
    return ledger.stake_token(model.model_id).functions.balanceOf(account).call()


def test_only_the_latest_root_claims(ledger, accounts, model):
    """Issue 24, N-5 replaces audit L-2's previous-root claims: a proof built before round 2 became final is
    refused after it (the proof is rebuilt against the new tree, which still holds the old amount)."""
    first, second = _two_rounds(ledger, accounts, model)
    assert "previousMerkleRoot" not in {f["name"] for f in ledger.distributor.abi if f.get("type") == "function"}
    with pytest.raises(ContractRevertError) as info:
        claim(ledger, first, accounts.alice.address, accounts.bob)
    assert revert_of(info) == ("RewardDistributorInvalidProof",
                               (model.model_id, accounts.alice.address, EMISSION_PER_ROUND // 2))
    # claimMany skips only what is already claimed: a stale proof in a batch voids it like a single claim.
    batch = [(model.model_id, *first.leaf(accounts.bob.address))]
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.distributor.functions.claimMany(batch), accounts.stranger)
    assert revert_of(info)[0] == "RewardDistributorInvalidProof"
    claim(ledger, second, accounts.alice.address, accounts.alice)
    assert _balance(ledger, model, accounts.alice.address) == EMISSION_PER_ROUND
    assert _balance(ledger, model, accounts.bob.address) == 0


def test_no_earlier_root_claims_after_a_later_round(ledger, accounts, model):
    first, second = _two_rounds(ledger, accounts, model)
    third = build_round(model.model_id, 3, {accounts.carol.address: EMISSION_PER_ROUND}, previous=second)
    run_round(ledger, third, accounts.oracles[:2], accounts.payer)
    for stale in (first, second):
        with pytest.raises(ContractRevertError) as info:
            claim(ledger, stale, accounts.alice.address, accounts.alice)
        assert revert_of(info)[0] == "RewardDistributorInvalidProof"
    claim(ledger, third, accounts.alice.address, accounts.alice)
    assert _balance(ledger, model, accounts.alice.address) == EMISSION_PER_ROUND


def test_pause_stops_the_challenge_clock(ledger, accounts, model):
    """I-1: a window that would have ended during a pause is extended by the pause's length, so holders and
    the guardian get the whole window with the contract running; the guardian can veto while paused."""
    tester = ledger.chain.w3.provider.ethereum_tester
    dist = ledger.distributor
    built = build_round(model.model_id, 1, {accounts.alice.address: EMISSION_PER_ROUND})
    submit(ledger, built, accounts.oracles[:2], accounts.payer)
    receipt = publish(ledger, built, accounts.oracles[0])[-1]
    ends_at = ledger.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"] + CHALLENGE_WINDOW
    paused = ledger.chain.transact(dist.functions.pause(), accounts.deployer)
    paused_at = ledger.chain.w3.eth.get_block(paused["blockNumber"])["timestamp"]
    tester.time_travel(ends_at + 5 * CHALLENGE_WINDOW)  # the whole window and more passes while paused
    unpaused = ledger.chain.transact(dist.functions.unpause(), accounts.deployer)
    pause_length = ledger.chain.w3.eth.get_block(unpaused["blockNumber"])["timestamp"] - paused_at
    assert dist.functions.pausedSeconds().call() == pause_length
    assert challenge_ends_at(ledger, model.model_id) == ends_at + pause_length
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(dist.functions.finalizeRound(model.model_id), accounts.payer)
    assert revert_of(info) == ("RewardDistributorChallengeWindowOpen", (ends_at + pause_length,))
    ledger.chain.transact(dist.functions.vetoRound(model.model_id), accounts.deployer)


def test_a_pause_before_submission_does_not_extend_later_rounds(ledger, accounts, model):
    tester = ledger.chain.w3.provider.ethereum_tester
    dist = ledger.distributor
    ledger.chain.transact(dist.functions.pause(), accounts.deployer)
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + 10 * CHALLENGE_WINDOW)
    ledger.chain.transact(dist.functions.unpause(), accounts.deployer)
    built = build_round(model.model_id, 1, {accounts.alice.address: EMISSION_PER_ROUND})
    submit(ledger, built, accounts.oracles[:2], accounts.payer)
    receipt = publish(ledger, built, accounts.oracles[0])[-1]
    completed = ledger.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert challenge_ends_at(ledger, model.model_id) == completed + CHALLENGE_WINDOW


def test_model_ownership_moves_in_two_steps(ledger, accounts, model):
    registry, owner, heir = ledger.registry, accounts.owner, accounts.carol
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(registry.functions.transferModelOwnership(model.model_id, heir.address), heir)
    assert revert_of(info) == ("ContributionRegistryNotModelOwner", (model.model_id, heir.address))
    receipt = ledger.chain.transact(registry.functions.transferModelOwnership(model.model_id, heir.address), owner)
    assert event_args(registry, "ModelOwnershipTransferStarted", receipt) == [
        {"modelId": model.model_id, "owner": owner.address, "newOwner": heir.address}]
    assert registry.functions.pendingModelOwner(model.model_id).call() == heir.address
    for intruder in (accounts.stranger, owner):
        with pytest.raises(ContractRevertError) as info:
            ledger.chain.transact(registry.functions.acceptModelOwnership(model.model_id), intruder)
        assert revert_of(info) == ("ContributionRegistryNotPendingModelOwner", (model.model_id, intruder.address))
    receipt = ledger.chain.transact(registry.functions.acceptModelOwnership(model.model_id), heir)
    assert event_args(registry, "ModelOwnershipTransferred", receipt) == [
        {"modelId": model.model_id, "previousOwner": owner.address, "newOwner": heir.address}]
    assert ledger.get_model(model.model_id).owner == heir.address
    assert registry.functions.pendingModelOwner(model.model_id).call() == "0x" + "00" * 20
    # Usage fees' owner share is now credited to the new owner; the old one has no owner powers left.
    token = ledger.erc20(ledger.dev_payment_token)
    ledger.chain.transact(token.functions.mint(accounts.payer.address, 10_000), accounts.payer)
    ledger.pay_usage(accounts.payer, model.model_id, 10_000)
    assert (ledger.owner_fees(heir.address, token.address), ledger.owner_fees(owner.address, token.address)) \
        == (7_000, 0)
    with pytest.raises(ContractRevertError) as info:
        ledger.commit_evaluation(owner, model.model_id, 1, b"\x01" * 32)
    assert revert_of(info) == ("ContributionRegistryNotModelOwner", (model.model_id, owner.address))


def test_a_pending_transfer_can_be_cancelled(ledger, accounts, model):
    registry, owner = ledger.registry, accounts.owner
    ledger.chain.transact(registry.functions.transferModelOwnership(model.model_id, accounts.carol.address), owner)
    ledger.chain.transact(registry.functions.transferModelOwnership(model.model_id, "0x" + "00" * 20), owner)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(registry.functions.acceptModelOwnership(model.model_id), accounts.carol)
    assert revert_of(info)[0] == "ContributionRegistryNotPendingModelOwner"
    assert ledger.get_model(model.model_id).owner == owner.address

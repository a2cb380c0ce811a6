"""Audit M-2 and L-3: no admin key can rewrite a round, mint a model's emission or erase unclaimed stake
before holders and the guardian see it coming.

The attack (M-2): `addOracle(evil)`, `setThreshold(1)`, `setChallengeWindow(0)` (or revoking the guardian),
then in one block submit, publish and finalize a round that pays the attacker. Now the distributor's admin
is the AdminTimelock: every such change is scheduled in public and runs only after a delay longer than
the challenge window, and no change can take the window below the deployment's minimum. L-3: a
zero-emission round with an empty score list used to be complete at submission and waited only its
window; since each oracle publishes its own list (a chunk is never empty), it can never complete at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from openledger_chain.deployments import PUBLIC_MIN_CHALLENGE_WINDOW, security_policy
from openledger_chain.errors import ContractRevertError, DeploymentError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import revert_of  # noqa: E402
from _round_helpers import (  # noqa: E402
    build_round,
    challenge_ends_at,
    claim,
    end_challenge_window,
    publish,
    run_round,
    schedule_admin,
    submit,
)
from _ledger_setup import CHALLENGE_WINDOW, EMISSION_PER_ROUND, MIN_CHALLENGE_WINDOW  # noqa: E402

ADMIN_ROLE = b"\x00" * 32
GUARDIAN_ROLE = keccak(text="GUARDIAN_ROLE")
EVIL = Account.from_key(keccak(text="openledger tests: evil oracle"))


def _attack_calls(ledger, accounts):
    d = ledger.distributor.functions
    return [d.addOracle(EVIL.address), d.setThreshold(1), d.setChallengeWindow(0),
            d.revokeRole(GUARDIAN_ROLE, accounts.deployer.address)]


def test_admin_key_cannot_change_anything_at_once(ledger, accounts):
    """The deployer's key holds no admin role on the distributor: each step of the attack reverts."""
    for call in _attack_calls(ledger, accounts):
        with pytest.raises(ContractRevertError) as info:
            ledger.chain.transact(call, accounts.deployer)
        assert revert_of(info) == ("AccessControlUnauthorizedAccount", (accounts.deployer.address, ADMIN_ROLE))
    assert not ledger.distributor.functions.isOracle(EVIL.address).call()


def test_scheduled_change_is_public_and_waits_longer_than_a_round(ledger, accounts, model):
    """Through the timelock the change is announced at once (CallScheduled), cannot run before its delay,
    and a round pending when it was scheduled becomes final, and claimable, before it can run."""
    add_evil = ledger.distributor.functions.addOracle(EVIL.address)
    honest = build_round(model.model_id, 1, {accounts.alice.address: EMISSION_PER_ROUND})
    submit(ledger, honest, accounts.oracles[:2], accounts.payer)
    publish(ledger, honest, accounts.oracles[0])
    ledger.schedule_admin_call(accounts.deployer, add_evil)
    scheduled = ledger.timelock.events.CallScheduled().get_logs(from_block=0)
    assert [e["args"]["target"] for e in scheduled] == [ledger.distributor.address]
    delay = ledger.timelock.functions.getMinDelay().call()
    assert delay > CHALLENGE_WINDOW
    with pytest.raises(ContractRevertError) as info:
        ledger.execute_admin_call(accounts.deployer, add_evil)
    assert revert_of(info)[0] == "TimelockUnexpectedOperationState"
    # The honest round finalizes and alice claims while the change still waits.
    end_challenge_window(ledger, model.model_id)
    ledger.chain.transact(ledger.distributor.functions.finalizeRound(model.model_id), accounts.payer)
    claim(ledger, honest, accounts.alice.address, accounts.alice)
    now = ledger.chain.w3.eth.get_block("latest")["timestamp"]
    ready_at = ledger.timelock.functions.getTimestamp(
        ledger.timelock.functions.hashOperation(ledger.distributor.address, 0, add_evil._encode_transaction_data(),
                                                bytes(32), bytes(32)).call()).call()
    assert now < ready_at
    # Only the proposer schedules; anyone else is refused outright.
    with pytest.raises(ContractRevertError) as info:
        ledger.schedule_admin_call(accounts.stranger, ledger.distributor.functions.setThreshold(1))
    assert revert_of(info)[0] == "AccessControlUnauthorizedAccount"


def test_window_never_goes_below_the_minimum_even_through_the_timelock(ledger, accounts):
    for window in (0, MIN_CHALLENGE_WINDOW - 1):
        call = ledger.distributor.functions.setChallengeWindow(window)
        schedule_admin(ledger, accounts.deployer, call)
        with pytest.raises(ContractRevertError) as info:
            ledger.execute_admin_call(accounts.deployer, call)
        assert revert_of(info) == ("RewardDistributorInvalidChallengeWindow", (window,))
    assert ledger.distributor.functions.challengeWindow().call() == CHALLENGE_WINDOW


def test_zero_emission_round_with_empty_list_never_finalizes(ledger, accounts, model):
    """L-3: a round with an empty score list would move unclaimed stake with a new root that no published
    list justifies. Since issue 24 (N-4) a zero-emission round that changes the root is refused at
    submission; one that keeps it but has an empty list never completes (no list of an oracle can be
    empty), so it cannot finalize, even after its window; the guardian vetoes it."""
    first = run_round(ledger, build_round(model.model_id, 1, {accounts.alice.address: EMISSION_PER_ROUND}),
                      accounts.oracles[:2], accounts.payer)
    moved = build_round(model.model_id, 2, {}, previous=first,
                        extra_leaves={accounts.stranger.address: EMISSION_PER_ROUND})
    with pytest.raises(ContractRevertError) as info:
        submit(ledger, moved, accounts.oracles[:2], accounts.payer)
    assert revert_of(info) == ("RewardDistributorZeroEmissionRootChanged",
                               (model.model_id, first.round.merkle_root, moved.round.merkle_root))
    empty = build_round(model.model_id, 2, {}, previous=first)
    assert empty.round.merkle_root == first.round.merkle_root and not empty.entries
    receipt = submit(ledger, empty, accounts.oracles[:2], accounts.payer)
    submitted_at = ledger.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert challenge_ends_at(ledger, model.model_id) == submitted_at + CHALLENGE_WINDOW
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.distributor.functions.finalizeRound(model.model_id), accounts.payer)
    assert revert_of(info)[0] == "RewardDistributorChallengeWindowOpen"
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(submitted_at + CHALLENGE_WINDOW + 1)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.distributor.functions.finalizeRound(model.model_id), accounts.payer)
    assert revert_of(info) == ("RewardDistributorScoresIncomplete", (model.model_id, 2))
    ledger.chain.transact(ledger.distributor.functions.vetoRound(model.model_id), accounts.deployer)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"guardian": None}, "name the guardian"),
        ({"guardian": "deployer"}, "--guardian must not be the deployer"),
        ({"min_challenge_window": PUBLIC_MIN_CHALLENGE_WINDOW - 1}, f"at least {PUBLIC_MIN_CHALLENGE_WINDOW} s"),
        ({"admin_delay": 2 * 86400}, "must be longer than the challenge window"),
        ({"challenge_window": 31 * 86400}, "between 0 and 2592000"),
    ],
)
def test_deploy_refuses_a_policy_one_key_could_abuse_outside_local_chains(accounts, options, message):
    deployer = accounts.deployer.address
    settings = {"challenge_window": 2 * 86400, "guardian": accounts.carol.address} | options
    if settings["guardian"] == "deployer":
        settings["guardian"] = deployer
    with pytest.raises(DeploymentError, match=message):
        security_policy(False, deployer, **settings)
    policy = security_policy(False, deployer, challenge_window=2 * 86400, guardian=accounts.carol.address)
    assert policy.min_challenge_window == PUBLIC_MIN_CHALLENGE_WINDOW
    assert policy.admin_delay > policy.challenge_window

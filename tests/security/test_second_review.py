"""Issue 24: the second independent review's findings, each as its attack on the embedded chain.

Every test here failed on the contracts before its fix (the commit that added it says so):
- N-1: an outgoing owner's junk evaluation commitments (for the next round and far future ones)
  stopped the new owner's rounds for good;
- a round the model's owner committed no evaluation set for was accepted from k oracles (only the CLI
  checked the commitment);
- N-4: a zero-emission round whose list had one 0-amount entry moved alice's unclaimed stake to a
  stranger;
- N-5: a correction round that lowered a leaf had no effect for a whole round (the old proof still claimed
  the old amount against the previous root), after which an honest claim of the new tree exceeded the cap;
- stale drafts: anything k oracles ever signed for round N could be submitted first by anyone, at any
  time (the signed `Round` now carries a `deadline`);
- N-6: stake sent to the distributor or the registry earned fees nobody could withdraw;
- N-2: copying one entry out of a pending relayed batch and registering it first voided the whole batch;
- N-3: a content hash revealed in one model could be committed and registered first in another.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from openledger_chain.errors import ContractRevertError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _helpers import event_args, revert_of  # noqa: E402
from eth_utils import keccak  # noqa: E402
from test_relayed_batches import _entry, _key, _send  # noqa: E402

from openledger_chain.types import ContributionKind, ModelParams  # noqa: E402
from _round_helpers import build_round, claim, finalize, publish, run_round, sign, submit  # noqa: E402

E18 = 10**18
JUNK = b"\x6a" * 32  # the seller's junk (or secret) evaluation hash
REAL = b"\x7e" * 32  # the buyer's evaluation set


def _tx(ledger, function, sender):
    return ledger.chain.transact(function, sender)


def _revert(ledger, function, sender):
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(function, sender)
    return revert_of(info)


# ----------------------------------------------------------------------------- N-1


def test_n1_outgoing_owner_cannot_lock_the_new_owner_out_of_evaluation_commitments(ledger, accounts, model):
    registry, seller, buyer = ledger.registry, accounts.owner, accounts.carol
    model_id = model.model_id
    _tx(ledger, registry.functions.transferModelOwnership(model_id, buyer.address), seller)
    # The seller, front-running the buyer's acceptance, commits junk for the next round.
    ledger.commit_evaluation(seller, model_id, 1, JUNK)
    # Far-future rounds are refused outright: only the next round (or the one after) can be committed.
    assert _revert(ledger, registry.functions.commitEvaluation(model_id, 3, JUNK), seller) == (
        "ContributionRegistryEvaluationRoundOutOfRange", (model_id, 3, 1))
    _tx(ledger, registry.functions.acceptModelOwnership(model_id), buyer)
    # The buyer replaces the seller's commitment, which no submitted round has used.
    receipt = ledger.commit_evaluation(buyer, model_id, 1, REAL)
    assert event_args(registry, "EvaluationReplaced", receipt) == [
        {"modelId": model_id, "roundId": 1, "previousEvalHash": JUNK, "evalHash": REAL, "owner": buyer.address}]
    assert event_args(registry, "EvaluationCommitted", receipt) == [
        {"modelId": model_id, "roundId": 1, "evalHash": REAL}]
    assert ledger.evaluation_commitment(model_id, 1)[0] == REAL
    # Its own commitment binds the buyer as it bound the seller.
    assert _revert(ledger, registry.functions.commitEvaluation(model_id, 1, JUNK), buyer) == (
        "ContributionRegistryEvaluationAlreadyCommitted", (model_id, 1, REAL))


def test_n1_a_commitment_a_pending_round_uses_cannot_be_replaced(ledger, accounts, model):
    registry, seller, buyer = ledger.registry, accounts.owner, accounts.carol
    model_id = model.model_id
    ledger.commit_evaluation(seller, model_id, 1, JUNK)
    built = build_round(model_id, 1, {accounts.alice.address: E18})
    submit(ledger, built, accounts.oracles[:2], accounts.payer)
    _tx(ledger, registry.functions.transferModelOwnership(model_id, buyer.address), seller)
    _tx(ledger, registry.functions.acceptModelOwnership(model_id), buyer)
    assert _revert(ledger, registry.functions.commitEvaluation(model_id, 1, REAL), buyer) == (
        "ContributionRegistryEvaluationInUse", (model_id, 1))
    # Once the guardian vetoes the round built on it, the new owner replaces it.
    _tx(ledger, ledger.distributor.functions.vetoRound(model_id), accounts.deployer)
    ledger.commit_evaluation(buyer, model_id, 1, REAL)
    assert ledger.evaluation_commitment(model_id, 1)[0] == REAL


def test_n1_past_rounds_cannot_be_committed_after_the_fact(ledger, accounts, model):
    model_id = model.model_id
    ledger.commit_evaluation(accounts.owner, model_id, 1, REAL)
    run_round(ledger, build_round(model_id, 1, {accounts.alice.address: E18}), accounts.oracles[:2], accounts.payer)
    assert _revert(ledger, ledger.registry.functions.commitEvaluation(model_id, 1, JUNK), accounts.owner) == (
        "ContributionRegistryEvaluationRoundOutOfRange", (model_id, 1, 2))
    # Round 2 and 3 are the next two; 4 is too far ahead.
    ledger.commit_evaluation(accounts.owner, model_id, 3, REAL)
    assert _revert(ledger, ledger.registry.functions.commitEvaluation(model_id, 4, REAL), accounts.owner) == (
        "ContributionRegistryEvaluationRoundOutOfRange", (model_id, 4, 2))


# ----------------------------------------------------------------------------- evaluation commitment


def test_oracles_cannot_submit_a_round_the_owner_committed_no_evaluation_set_for(ledger, accounts, model):
    """k oracles sign round 1 and anyone submits it while the model's owner has committed no evaluation set
    for it (only a set for round 2): refused on-chain, so the oracles cannot value contributions on a set of
    their own choosing. Once the owner commits round 1's set, the very same signatures go through."""
    model_id = model.model_id
    ledger.commit_evaluation(accounts.owner, model_id, 2, REAL)  # another round's set does not count
    built = build_round(model_id, 1, {accounts.alice.address: E18})
    signatures = sign(built.round, accounts.oracles[:2], ledger.chain.chain_id, ledger.distributor.address)
    with pytest.raises(ContractRevertError) as info:
        submit(ledger, built, accounts.oracles[:2], accounts.stranger, signatures, commit=False)
    assert revert_of(info) == ("RewardDistributorEvaluationNotCommitted", (model_id, 1))
    assert ledger.distributor.functions.pendingRound(model_id).call()[5] == 0  # roundId: nothing pending
    ledger.commit_evaluation(accounts.owner, model_id, 1, REAL)
    receipt = submit(ledger, built, accounts.oracles[:2], accounts.stranger, signatures, commit=False)
    assert event_args(ledger.distributor, "RoundSubmitted", receipt)[0]["roundId"] == 1


# ----------------------------------------------------------------------------- N-4


def test_n4_a_zero_emission_round_cannot_move_unclaimed_stake(ledger, accounts, model):
    alice, bob, stranger = accounts.alice.address, accounts.bob.address, accounts.stranger.address
    first = run_round(ledger, build_round(model.model_id, 1, {alice: 600 * E18, bob: 400 * E18}),
                      accounts.oracles[:2], accounts.payer)
    # Alice has not claimed. Round 2 mints nothing, lists one 0-amount entry, and its tree gives her 600 to a stranger.
    moved = dataclasses.replace(first, cumulative={stranger: 600 * E18, bob: 400 * E18})
    second = build_round(model.model_id, 2, {stranger: 0}, previous=moved)
    assert second.round.emission == 0 and second.round.merkle_root != first.round.merkle_root
    with pytest.raises(ContractRevertError) as info:
        submit(ledger, second, accounts.oracles[:2], accounts.payer)
    assert revert_of(info) == ("RewardDistributorZeroEmissionRootChanged",
                               (model.model_id, first.round.merkle_root, second.round.merkle_root))
    # A zero-emission round that keeps the root still goes through (and moves nothing).
    same = build_round(model.model_id, 2, {bob: 0}, previous=first)
    assert same.round.merkle_root == first.round.merkle_root
    run_round(ledger, same, accounts.oracles[:2], accounts.payer)
    claim(ledger, same, alice, accounts.alice)
    assert ledger.stake_token(model.model_id).functions.balanceOf(alice).call() == 600 * E18


# ----------------------------------------------------------------------------- N-5


def test_n5_a_correction_round_takes_effect_at_once(ledger, accounts, model):
    """Round 2 corrects alice's leaf from 600 down to 100 (her data was found copied) and moves the 500 to
    carol. With previous-root claims alice still minted 600 with her round 1 proof after round 2 was final,
    and then carol's honest claim of her new leaf exceeded the mint cap (1,000 + 100 - 600 - 400 < 600)."""
    alice, bob, carol = accounts.alice.address, accounts.bob.address, accounts.carol.address
    first = run_round(ledger, build_round(model.model_id, 1, {alice: 600 * E18, bob: 400 * E18}),
                      accounts.oracles[:2], accounts.payer)
    corrected = dataclasses.replace(first, cumulative={alice: 100 * E18, bob: 400 * E18, carol: 500 * E18})
    second = run_round(ledger, build_round(model.model_id, 2, {carol: 100 * E18}, previous=corrected),
                       accounts.oracles[:2], accounts.payer)
    assert second.round.cumulative_emission == 1_100 * E18 == sum(second.leaves.values())
    # Alice's old proof is refused: the correction holds from the moment round 2 is final.
    with pytest.raises(ContractRevertError) as info:
        claim(ledger, first, alice, accounts.alice)
    assert revert_of(info) == ("RewardDistributorInvalidProof", (model.model_id, alice, 600 * E18))
    # Every leaf of the new tree claims in full, so the cap is exactly reached, never exceeded.
    for account, sender in ((carol, accounts.carol), (bob, accounts.bob), (alice, accounts.alice)):
        claim(ledger, second, account, sender)
    token = ledger.stake_token(model.model_id)
    assert [token.functions.balanceOf(a).call() for a in (alice, bob, carol)] == [100 * E18, 400 * E18, 600 * E18]
    assert token.functions.totalSupply().call() == second.round.cumulative_emission


# ----------------------------------------------------------------------------- signed drafts expire


def test_a_signed_draft_cannot_be_submitted_after_its_deadline(ledger, accounts, model):
    tester = ledger.chain.w3.provider.ethereum_tester
    now = ledger.chain.w3.eth.get_block("latest")["timestamp"]
    # The oracles signed a first draft of round 1, then replaced it; weeks later someone submits the old one.
    draft = build_round(model.model_id, 1, {accounts.alice.address: E18}).with_round(deadline=now + 86_400)
    signatures = sign(draft.round, accounts.oracles[:2], ledger.chain.chain_id, ledger.distributor.address)
    tester.time_travel(now + 30 * 86_400)
    with pytest.raises(ContractRevertError) as info:
        submit(ledger, draft, accounts.oracles[:2], accounts.stranger, signatures)
    name, args = revert_of(info)
    assert name == "RewardDistributorRoundExpired" and args[0] == now + 86_400 and args[1] > now + 86_400
    # Up to its deadline the draft submits (and the event carries the deadline).
    fresh = draft.with_round(deadline=now + 31 * 86_400)
    receipt = submit(ledger, fresh, accounts.oracles[:2], accounts.payer)
    (event,) = event_args(ledger.distributor, "RoundSubmitted", receipt)
    assert event["deadline"] == now + 31 * 86_400
    publish(ledger, fresh, accounts.oracles[0])
    finalize(ledger, model.model_id, accounts.payer)


# ----------------------------------------------------------------------------- N-6


@pytest.mark.parametrize("where", ["distributor", "registry"])
def test_n6_stake_cannot_be_sent_where_its_fees_could_never_be_withdrawn(ledger, accounts, model, where):
    alice = accounts.alice
    built = run_round(ledger, build_round(model.model_id, 1, {alice.address: E18}), accounts.oracles[:2],
                      accounts.payer)
    claim(ledger, built, alice.address, alice)
    stake = ledger.stake_token(model.model_id)
    target = getattr(ledger, where).address
    assert _revert(ledger, stake.functions.transfer(target, E18 // 2), alice) == ("ERC20InvalidReceiver", (target,))
    assert stake.functions.balanceOf(alice.address).call() == E18


# ----------------------------------------------------------------------------- N-2


def test_n2_copying_one_entry_out_of_a_batch_no_longer_voids_it(ledger, accounts, model):
    registry, model_id = ledger.registry, model.model_id
    entries = [_entry(ledger, _key(i), model_id, keccak(text=f"n2 entry {i}")) for i in range(30)]
    copied = entries[17]
    # The griefer copies entry 17 from the pending batch and registers it alone, first.
    held, grief = ledger.register_contribution_for(accounts.stranger, copied.contributor, model_id, copied.kind,
                                                   copied.content_hash, copied.uri, copied.salt, copied.deadline,
                                                   copied.signature)
    receipt = _send(ledger, accounts.payer, model_id, entries)
    registered = event_args(registry, "ContributionRegistered", receipt)
    assert [e["contributor"] for e in registered] == [e.contributor for e in entries if e is not copied]
    assert event_args(registry, "BatchEntrySkipped", receipt) == [
        {"modelId": model_id, "index": 17, "contributor": copied.contributor, "contributionId": held}]
    # The grief cost the griefer a registration and the victim nothing but the skipped entry's check.
    assert grief["gasUsed"] > 100_000 and receipt["status"] == 1


def test_n2_any_other_invalid_entry_still_reverts_the_batch(ledger, accounts, model):
    # An entry of another contributor's content (not the entry's own registration) is not skipped.
    model_id = model.model_id
    mine = _entry(ledger, _key(1), model_id, keccak(text="n2 content"))
    ledger.register_contribution_for(accounts.stranger, mine.contributor, model_id, mine.kind, mine.content_hash,
                                     mine.uri, mine.salt, mine.deadline, mine.signature)
    theirs = _entry(ledger, _key(2), model_id, keccak(text="n2 content"))
    with pytest.raises(ContractRevertError) as info:
        _send(ledger, accounts.payer, model_id, [theirs])
    assert info.value.batch_index == 0 and revert_of(info)[0] == "ContributionRegistryDuplicateContent"


# ----------------------------------------------------------------------------- N-3


def _second_model(ledger, accounts):
    params = ModelParams(b"\x5e" * 32, "ipfs://spec2", ledger.dev_payment_token or "", 3_000, 1_000 * E18,
                         10**24, "Model 2 Stake", "STK2")
    return ledger.register_model(accounts.owner, params)[0]


def test_n3_content_revealed_in_one_model_cannot_be_taken_in_another(ledger, accounts, model):
    registry, alice, bob = ledger.registry, accounts.alice, accounts.bob
    second = _second_model(ledger, accounts)
    content = keccak(text="alice's data")
    ledger.register_contribution(alice, model.model_id, ContributionKind.DATA, content, "a")
    holder, committed_at = registry.functions.contentClaim(content).call()
    assert holder == alice.address and committed_at > 0
    # Bob saw the hash in alice's reveal: he commits and registers it in model 2 first.
    salt = b"\x0b" * 32
    ledger.commit(bob, [ledger.commitment(second.model_id, bob.address, ContributionKind.DATA, content, salt)])
    assert _revert(ledger, registry.functions.registerContribution(second.model_id, 0, content, "b", salt), bob) == (
        "ContributionRegistryContentClaimed", (content, alice.address, committed_at))
    # Alice registers it in model 2 whenever she likes.
    ledger.register_contribution(alice, second.model_id, ContributionKind.DATA, content, "a")
    assert registry.functions.contributionByContent(second.model_id, content).call() != 0


def test_n3_the_earliest_commitment_takes_the_content_back_in_every_model(ledger, accounts, model):
    """Mallory front-runs alice's first reveal in model 1 and copies it into model 2 at once; alice's older
    commitment displaces her in model 1 and, while mallory's model 2 registration is unsettled, there too."""
    registry, alice, mallory = ledger.registry, accounts.alice, accounts.bob
    second = _second_model(ledger, accounts)
    content = keccak(text="alice's data, front-run")
    a_salt, m_salt = b"\x0a" * 32, b"\x0c" * 32
    ledger.commit(alice, [ledger.commitment(model.model_id, alice.address, ContributionKind.DATA, content, a_salt)])
    ledger.commit(mallory, [ledger.commitment(model.model_id, mallory.address, ContributionKind.DATA, content, m_salt),
                            ledger.commitment(second.model_id, mallory.address, ContributionKind.DATA, content, m_salt)])
    _tx(ledger, registry.functions.registerContribution(model.model_id, 0, content, "m", m_salt), mallory)
    _tx(ledger, registry.functions.registerContribution(second.model_id, 0, content, "m", m_salt), mallory)
    _tx(ledger, registry.functions.registerContribution(model.model_id, 0, content, "a", a_salt), alice)
    assert registry.functions.contentClaim(content).call()[0] == alice.address
    a2 = b"\x0d" * 32
    ledger.commit(alice, [ledger.commitment(second.model_id, alice.address, ContributionKind.DATA, content, a2)])
    receipt = _tx(ledger, registry.functions.registerContribution(second.model_id, 0, content, "a", a2), alice)
    (displaced,) = event_args(registry, "ContributionDisplaced", receipt)
    assert displaced["modelId"] == second.model_id
    for model_id in (model.model_id, second.model_id):
        held = registry.functions.contributionByContent(model_id, content).call()
        assert registry.functions.getContribution(held).call()[1] == alice.address

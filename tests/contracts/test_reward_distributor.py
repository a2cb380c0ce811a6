"""RewardDistributor: oracle set administration, k-of-n signed rounds and their replay protection, the
challenge window (its end fixed at submission) and guardian veto, oracle-only score lists and their
reset, finality starting the stake token's fee period, cumulative Merkle claims, pausing, and proofs
from `openledger_chain.merkle` verified by the contract.

Anyone may submit a signed round (here mostly `payer`, acting as a relayer); only oracles publish or
reset its score list (here `accounts.oracles[0]`, also a signer, unless a test says otherwise).

Reverts are asserted by custom-error name and arguments.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from _round_helpers import (
    PENDING_FIELDS,
    ZERO_ADDRESS,
    score_list,
    admin,
    schedule_admin,
    BuiltRound,
    build_round,
    challenge_ends_at,
    claim,
    end_challenge_window,
    finalize,
    publish,
    reset,
    run_round,
    sign,
    submit,
)
from _helpers import reverts
from _ledger_setup import CONTRIBUTOR_SHARE_BPS, EMISSION_PER_ROUND, MIN_CHALLENGE_WINDOW, Accounts
from eth_account import Account
from eth_utils import to_checksum_address
from web3.logs import DISCARD

from openledger_chain.build import load_artifact
from openledger_chain.chain import Chain
from openledger_chain.contracts import OpenLedger
from openledger_chain.rounds import ScoreEntry, round_digest, scores_hash
from openledger_chain.types import Model, ModelParams

E18 = 10**18
FEE_PRECISION = 10**36
ADMIN_ROLE = b"\x00" * 32
GUARDIAN_ROLE = bytes.fromhex("55435dd261a4b9b3364963f7738a7a662ad9c84396d64be3365284bb7f0a5041")
PAUSER_ROLE = bytes.fromhex("65d7a28e3265b37a6474929f336521b332c1681b933f6cb9f3376673440d862a")
WINDOW = 3600


# ----------------------------------------------------------------------------- helpers


def events(contract: Any, name: str, receipt: Any) -> list[dict[str, Any]]:
    # DISCARD: the receipt also holds other contracts' logs (the token's Transfer, the distributor's Claimed).
    return [dict(e["args"]) for e in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)]


def recover(digest: bytes, signature: bytes) -> str:
    return Account._recover_hash(digest, signature=signature)


def register(ledger: OpenLedger, owner: Any, symbol: str, per_round: int = EMISSION_PER_ROUND,
             maximum: int = 10**24) -> Model:
    params = ModelParams(b"\x5e" * 32, "ipfs://spec", ledger.dev_payment_token or "", 3_000, per_round, maximum,
                         f"{symbol} Stake", symbol)
    return ledger.register_model(owner, params)[0]


@pytest.fixture
def dist(ledger: OpenLedger) -> Any:
    return ledger.distributor


@pytest.fixture
def tester(chain: Chain) -> Any:
    return chain.w3.provider.ethereum_tester


@pytest.fixture
def round1(model: Model, accounts: Accounts) -> BuiltRound:
    """Round 1 of `model`: 600 to alice, 400 to bob."""
    return build_round(model.model_id, 1, {accounts.alice.address: 600 * E18, accounts.bob.address: 400 * E18})


@pytest.fixture
def signers(accounts: Accounts) -> tuple[Any, ...]:
    return accounts.oracles[:2]


def _pending(dist: Any, model_id: int) -> dict[str, Any]:
    return dict(zip(PENDING_FIELDS, dist.functions.pendingRound(model_id).call(), strict=True))


def _ends_at(dist: Any, model_id: int) -> int:
    return _pending(dist, model_id)["challengeEndsAt"]


def _timestamp(ledger: OpenLedger, receipt: Any) -> int:
    return int(ledger.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def _pay(ledger: OpenLedger, payer: Any, model_id: int, amount: int) -> int:
    """Pay `amount` of usage fees for the model (in the dev payment token); returns the stake holders' share."""
    token = ledger.erc20(ledger.dev_payment_token or "")
    ledger.chain.transact(token.functions.mint(payer.address, amount), payer)
    ledger.chain.transact(token.functions.approve(ledger.registry.address, amount), payer)
    ledger.chain.transact(ledger.registry.functions.payUsage(model_id, amount), payer)
    return amount * CONTRIBUTOR_SHARE_BPS // 10_000


# ----------------------------------------------------------------------------- constructor and admin


def test_constructor_sets_oracles_threshold_window_and_roles(ledger: OpenLedger, dist: Any, accounts: Accounts) -> None:
    assert all(dist.functions.isOracle(o.address).call() for o in accounts.oracles)
    assert not dist.functions.isOracle(accounts.stranger.address).call()
    assert dist.functions.oracleCount().call() == 3
    assert dist.functions.threshold().call() == 2
    assert dist.functions.challengeWindow().call() == WINDOW
    assert dist.functions.minChallengeWindow().call() == MIN_CHALLENGE_WINDOW
    # The admin is the timelock, never a key: the deployer only proposes through it.
    timelock = ledger.timelock.address
    assert dist.functions.hasRole(ADMIN_ROLE, timelock).call()
    assert not dist.functions.hasRole(ADMIN_ROLE, accounts.deployer.address).call()
    assert ledger.timelock.functions.getMinDelay().call() > WINDOW
    assert dist.functions.GUARDIAN_ROLE().call() == GUARDIAN_ROLE
    assert dist.functions.PAUSER_ROLE().call() == PAUSER_ROLE
    assert dist.functions.hasRole(GUARDIAN_ROLE, accounts.deployer.address).call()
    assert dist.functions.hasRole(PAUSER_ROLE, accounts.deployer.address).call()
    # The registry keeps no admin: its one admin call (naming the stake minter) is done.
    assert not ledger.registry.functions.hasRole(ADMIN_ROLE, accounts.deployer.address).call()
    assert not ledger.registry.functions.hasRole(ADMIN_ROLE, timelock).call()


@pytest.mark.parametrize(
    ("oracle_count", "threshold", "window", "minimum", "error"),
    [
        (2, 3, WINDOW, 0, ("RewardDistributorInvalidThreshold", 3, 2)),
        (2, 0, WINDOW, 0, ("RewardDistributorInvalidThreshold", 0, 2)),
        (0, 1, WINDOW, 0, ("RewardDistributorInvalidThreshold", 1, 0)),
        (2, 1, 30 * 86400 + 1, 0, ("RewardDistributorInvalidChallengeWindow", 30 * 86400 + 1)),
        (2, 1, WINDOW, WINDOW + 1, ("RewardDistributorInvalidChallengeWindow", WINDOW)),  # below the minimum
        (2, 1, WINDOW, 30 * 86400 + 1, ("RewardDistributorInvalidChallengeWindow", 30 * 86400 + 1)),
    ],
)
def test_constructor_reverts_when_config_invalid(
    chain: Chain, ledger: OpenLedger, accounts: Accounts, oracle_count: int, threshold: int, window: int,
    minimum: int, error: tuple[Any, ...],
) -> None:
    artifact = load_artifact("RewardDistributor")
    oracles = [o.address for o in accounts.oracles[:oracle_count]]
    with reverts(*error):
        chain.deploy(artifact.abi, artifact.bytecode, accounts.deployer, ledger.registry.address,
                     ledger.timelock.address, accounts.deployer.address, oracles, threshold, window, minimum)


def test_constructor_reverts_when_oracle_guardian_or_admin_invalid(
    chain: Chain, ledger: OpenLedger, accounts: Accounts
) -> None:
    artifact = load_artifact("RewardDistributor")
    oracle, zero = accounts.oracles[0].address, "0x" + "00" * 20
    admin_, guardian = ledger.timelock.address, accounts.deployer.address

    def deploy(registry: str, admin_: str, guardian: str, oracles: list[str]) -> None:
        chain.deploy(artifact.abi, artifact.bytecode, accounts.deployer, registry, admin_, guardian, oracles, 1,
                     WINDOW, 0)

    with reverts("RewardDistributorOracleAlreadyAdded", oracle):
        deploy(ledger.registry.address, admin_, guardian, [oracle, oracle])
    with reverts("RewardDistributorZeroAddress"):
        deploy(ledger.registry.address, admin_, guardian, [zero])
    for registry, a, g in ((zero, admin_, guardian), (ledger.registry.address, zero, guardian),
                           (ledger.registry.address, admin_, zero)):
        with reverts("RewardDistributorZeroAddress"):
            deploy(registry, a, g, [oracle])
    # The veto must not sit with the admin.
    with reverts("RewardDistributorGuardianIsAdmin", guardian):
        deploy(ledger.registry.address, guardian, guardian, [oracle])


def test_add_and_remove_oracle_emit_and_count(ledger: OpenLedger, dist: Any, accounts: Accounts) -> None:
    new = accounts.carol.address
    receipt = admin(ledger, accounts.deployer, dist.functions.addOracle(new))
    assert events(dist, "OracleAdded", receipt) == [{"oracle": new}]
    assert dist.functions.isOracle(new).call() and dist.functions.oracleCount().call() == 4
    receipt = admin(ledger, accounts.deployer, dist.functions.removeOracle(new))
    assert events(dist, "OracleRemoved", receipt) == [{"oracle": new}]
    assert not dist.functions.isOracle(new).call() and dist.functions.oracleCount().call() == 3


def test_add_oracle_reverts_when_already_added_or_zero(ledger: OpenLedger, dist: Any, accounts: Accounts) -> None:
    oracle = accounts.oracles[1].address
    with reverts("RewardDistributorOracleAlreadyAdded", oracle):
        admin(ledger, accounts.deployer, dist.functions.addOracle(oracle))
    with reverts("RewardDistributorZeroAddress"):
        admin(ledger, accounts.deployer, dist.functions.addOracle("0x" + "00" * 20))


def test_remove_oracle_reverts_when_not_oracle(ledger: OpenLedger, dist: Any, accounts: Accounts) -> None:
    with reverts("RewardDistributorNotOracle", accounts.stranger.address):
        admin(ledger, accounts.deployer, dist.functions.removeOracle(accounts.stranger.address))


def test_remove_oracle_reverts_when_threshold_becomes_unreachable(ledger: OpenLedger, dist: Any, accounts: Accounts) -> None:
    admin(ledger, accounts.deployer, dist.functions.removeOracle(accounts.oracles[0].address))
    with reverts("RewardDistributorInvalidThreshold", 2, 1):
        admin(ledger, accounts.deployer, dist.functions.removeOracle(accounts.oracles[1].address))
    assert dist.functions.oracleCount().call() == 2


def test_set_threshold_emits_and_rejects_noop_zero_and_unreachable(
    ledger: OpenLedger, dist: Any, accounts: Accounts
) -> None:
    for bad, count in ((2, 3), (0, 3), (4, 3)):
        with reverts("RewardDistributorInvalidThreshold", bad, count):
            admin(ledger, accounts.deployer, dist.functions.setThreshold(bad))
    receipt = admin(ledger, accounts.deployer, dist.functions.setThreshold(3))
    assert events(dist, "ThresholdSet", receipt) == [{"threshold": 3}]
    assert dist.functions.threshold().call() == 3


def test_set_challenge_window_emits_and_rejects_noop_too_short_and_too_long(
    ledger: OpenLedger, dist: Any, accounts: Accounts
) -> None:
    with reverts("RewardDistributorInvalidChallengeWindow", WINDOW):
        admin(ledger, accounts.deployer, dist.functions.setChallengeWindow(WINDOW))
    with reverts("RewardDistributorInvalidChallengeWindow", 30 * 86400 + 1):
        admin(ledger, accounts.deployer, dist.functions.setChallengeWindow(30 * 86400 + 1))
    # Not even through the timelock can the window go below the deployment's minimum (audit M-2, L-3).
    for short in (0, MIN_CHALLENGE_WINDOW - 1):
        with reverts("RewardDistributorInvalidChallengeWindow", short):
            admin(ledger, accounts.deployer, dist.functions.setChallengeWindow(short))
    receipt = admin(ledger, accounts.deployer, dist.functions.setChallengeWindow(30 * 86400))
    assert events(dist, "ChallengeWindowSet", receipt) == [{"challengeWindow": 30 * 86400}]


@pytest.mark.parametrize(
    ("function", "args"),
    [("addOracle", "carol"), ("removeOracle", "oracle"), ("setThreshold", 3), ("setChallengeWindow", 60)],
)
def test_admin_functions_revert_when_caller_not_admin(
    chain: Chain, dist: Any, accounts: Accounts, function: str, args: Any
) -> None:
    arg = {"carol": accounts.carol.address, "oracle": accounts.oracles[0].address}.get(args, args)
    with reverts("AccessControlUnauthorizedAccount", accounts.stranger.address, ADMIN_ROLE):
        chain.transact(getattr(dist.functions, function)(arg), accounts.stranger)
    # Not even an oracle or the guardian-pauser roles of another account stand in for the admin.
    with reverts("AccessControlUnauthorizedAccount", accounts.oracles[0].address, ADMIN_ROLE):
        chain.transact(getattr(dist.functions, function)(arg), accounts.oracles[0])
    # Nor the deployer: its key only proposes through the timelock, which runs the call after its delay.
    with reverts("AccessControlUnauthorizedAccount", accounts.deployer.address, ADMIN_ROLE):
        chain.transact(getattr(dist.functions, function)(arg), accounts.deployer)


def test_pause_and_unpause_require_pauser_role(chain: Chain, dist: Any, accounts: Accounts) -> None:
    with reverts("AccessControlUnauthorizedAccount", accounts.stranger.address, PAUSER_ROLE):
        chain.transact(dist.functions.pause(), accounts.stranger)
    chain.transact(dist.functions.pause(), accounts.deployer)
    with reverts("AccessControlUnauthorizedAccount", accounts.stranger.address, PAUSER_ROLE):
        chain.transact(dist.functions.unpause(), accounts.stranger)
    chain.transact(dist.functions.unpause(), accounts.deployer)
    assert not dist.functions.paused().call()


# ----------------------------------------------------------------------------- submitRound


def test_submit_round_stores_pending_and_emits(
    ledger: OpenLedger, dist: Any, accounts: Accounts, round1: BuiltRound, signers: Any
) -> None:
    receipt = submit(ledger, round1, list(reversed(accounts.oracles)), accounts.payer)  # all three sign
    r = round1.round
    (event,) = events(dist, "RoundSubmitted", receipt)
    assert event == {
        "modelId": r.model_id, "roundId": 1, "merkleRoot": r.merkle_root, "emission": 1_000 * E18,
        "cumulativeEmission": 1_000 * E18, "scoresHash": r.scores_hash, "methodHash": r.method_hash,
        "roundFileHash": r.round_file_hash, "deadline": r.deadline, "submitter": accounts.payer.address,
        "signers": sorted((o.address for o in accounts.oracles), key=lambda a: int(a, 16)),
    }
    pending = _pending(dist, r.model_id)
    digest = round_digest(ledger.chain.chain_id, dist.address, r)
    assert dist.functions.roundDigest(r.as_tuple()).call() == digest == pending["digest"]
    assert (pending["merkleRoot"], pending["scoresHash"], pending["roundId"], pending["submitter"]) == (
        r.merkle_root, r.scores_hash, 1, accounts.payer.address)
    assert pending["emission"] == pending["cumulativeEmission"] == 1_000 * E18
    assert pending["scoresPublisher"] == ZERO_ADDRESS
    assert pending["challengeEndsAt"] == _timestamp(ledger, receipt) + WINDOW


def _replay_reverts(ledger: OpenLedger, target: BuiltRound, signatures: list[bytes], sender: Any) -> None:
    """Signatures made for another domain or struct recover to strangers: the first is not an oracle."""
    digest = round_digest(ledger.chain.chain_id, ledger.distributor.address, target.round)
    with reverts("RewardDistributorNotOracle", recover(digest, signatures[0])):
        submit(ledger, target, [], sender, signatures)


def test_submit_round_reverts_when_signed_for_another_chain_id(
    ledger: OpenLedger, accounts: Accounts, round1: BuiltRound, signers: Any
) -> None:
    signatures = sign(round1.round, signers, ledger.chain.chain_id + 1, ledger.distributor.address)
    _replay_reverts(ledger, round1, signatures, accounts.payer)


def test_submit_round_reverts_when_signed_for_another_distributor(
    ledger: OpenLedger, accounts: Accounts, round1: BuiltRound, signers: Any
) -> None:
    signatures = sign(round1.round, signers, ledger.chain.chain_id, ledger.registry.address)
    _replay_reverts(ledger, round1, signatures, accounts.payer)


def test_submit_round_reverts_when_signed_for_another_model(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    other = register(ledger, accounts.owner, "STK2")
    signatures = sign(round1.round, signers, ledger.chain.chain_id, ledger.distributor.address)
    _replay_reverts(ledger, round1.with_round(model_id=other.model_id), signatures, accounts.payer)


def test_submit_round_reverts_when_signed_for_another_round_id(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    run_round(ledger, round1, signers, accounts.payer)
    signatures = sign(round1.round, signers, ledger.chain.chain_id, ledger.distributor.address)
    # The same round again is out of order; relabelled as round 2 (emission added up) its signatures fail.
    with reverts("RewardDistributorUnexpectedRoundId", model.model_id, 2, 1):
        submit(ledger, round1, [], accounts.payer, signatures)
    replayed = round1.with_round(round_id=2, cumulative_emission=2 * round1.round.emission)
    _replay_reverts(ledger, replayed, signatures, accounts.payer)


def test_submit_round_reverts_when_same_signer_twice(
    ledger: OpenLedger, accounts: Accounts, round1: BuiltRound
) -> None:
    oracle = accounts.oracles[0]
    (signature,) = sign(round1.round, [oracle], ledger.chain.chain_id, ledger.distributor.address)
    with reverts("RewardDistributorSignersNotAscending", oracle.address, oracle.address):
        submit(ledger, round1, [], accounts.payer, [signature, signature])


def test_submit_round_reverts_when_signers_unsorted(
    ledger: OpenLedger, accounts: Accounts, round1: BuiltRound, signers: Any
) -> None:
    ordered = sorted(signers, key=lambda a: int(a.address, 16))
    descending = sign(round1.round, ordered[::-1], ledger.chain.chain_id, ledger.distributor.address, order=False)
    with reverts("RewardDistributorSignersNotAscending", ordered[1].address, ordered[0].address):
        submit(ledger, round1, [], accounts.payer, descending)


@pytest.mark.parametrize("count", [0, 1])
def test_submit_round_reverts_when_fewer_than_threshold(
    ledger: OpenLedger, accounts: Accounts, round1: BuiltRound, count: int
) -> None:
    with reverts("RewardDistributorInsufficientSignatures", count, 2):
        submit(ledger, round1, accounts.oracles[:count], accounts.payer)


def test_submit_round_reverts_when_a_signer_is_not_oracle(
    ledger: OpenLedger, accounts: Accounts, round1: BuiltRound
) -> None:
    with reverts("RewardDistributorNotOracle", accounts.stranger.address):
        submit(ledger, round1, [accounts.oracles[0], accounts.stranger], accounts.payer)


def test_submit_round_reverts_when_signer_was_removed(
    ledger: OpenLedger, chain: Chain, accounts: Accounts, round1: BuiltRound, signers: Any
) -> None:
    signatures = sign(round1.round, signers, chain.chain_id, ledger.distributor.address)
    admin(ledger, accounts.deployer, ledger.distributor.functions.removeOracle(signers[0].address))
    with reverts("RewardDistributorNotOracle", signers[0].address):
        submit(ledger, round1, [], accounts.payer, signatures)


def test_submit_round_reverts_when_signature_malleated(
    ledger: OpenLedger, chain: Chain, accounts: Accounts, round1: BuiltRound, signers: Any
) -> None:
    """The high-s twin of a valid signature recovers the same oracle; OpenZeppelin's ECDSA refuses it."""
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    signatures = sign(round1.round, signers, chain.chain_id, ledger.distributor.address)
    r, s, v = signatures[0][:32], int.from_bytes(signatures[0][32:64]), signatures[0][64]
    high_s = (n - s).to_bytes(32)
    with reverts("ECDSAInvalidSignatureS", high_s):
        submit(ledger, round1, [], accounts.payer, [r + high_s + bytes([55 - v]), signatures[1]])


def test_submit_round_reverts_when_round_out_of_order(
    ledger: OpenLedger, accounts: Accounts, model: Model, signers: Any
) -> None:
    round2 = build_round(model.model_id, 2, {accounts.alice.address: E18})
    with reverts("RewardDistributorUnexpectedRoundId", model.model_id, 1, 2):
        submit(ledger, round2, signers, accounts.payer)


def test_submit_round_reverts_when_a_round_is_pending(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    for other in (round1.with_round(round_file_hash=b"\x01" * 32), build_round(model.model_id, 2, {}, previous=round1)):
        with reverts("RewardDistributorRoundPending", model.model_id, 1):
            submit(ledger, other, signers, accounts.payer)


def test_submit_round_reverts_when_cumulative_emission_does_not_add_up(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    run_round(ledger, round1, signers, accounts.payer)
    round2 = build_round(model.model_id, 2, {accounts.carol.address: 10 * E18}, previous=round1)
    for wrong in (10 * E18, 1_010 * E18 + 1, 1_009 * E18):
        with reverts("RewardDistributorCumulativeMismatch", 1_010 * E18, wrong):
            submit(ledger, round2.with_round(cumulative_emission=wrong), signers, accounts.payer)


def test_submit_round_reverts_when_emission_over_per_round_policy(
    ledger: OpenLedger, accounts: Accounts, model: Model, signers: Any
) -> None:
    over = build_round(model.model_id, 1, {accounts.alice.address: EMISSION_PER_ROUND + 1})
    with reverts("RewardDistributorEmissionOverPolicy", EMISSION_PER_ROUND + 1, EMISSION_PER_ROUND + 1):
        submit(ledger, over, signers, accounts.payer)


def test_submit_round_reverts_when_cumulative_over_max_emission(
    ledger: OpenLedger, accounts: Accounts, signers: Any
) -> None:
    small = register(ledger, accounts.owner, "SMALL", per_round=1_000, maximum=1_500)
    first = run_round(ledger, build_round(small.model_id, 1, {accounts.alice.address: 1_000}), signers, accounts.payer)
    second = build_round(small.model_id, 2, {accounts.bob.address: 501}, previous=first)
    with reverts("RewardDistributorEmissionOverPolicy", 501, 1_501):
        submit(ledger, second, signers, accounts.payer)
    submit(ledger, build_round(small.model_id, 2, {accounts.bob.address: 500}, previous=first), signers, accounts.payer)


def test_submit_round_reverts_when_root_is_zero(
    ledger: OpenLedger, accounts: Accounts, round1: BuiltRound, signers: Any
) -> None:
    with reverts("RewardDistributorZeroRoot"):
        submit(ledger, round1.with_round(merkle_root=b"\x00" * 32), signers, accounts.payer)


def test_submit_round_reverts_when_model_unknown(ledger: OpenLedger, accounts: Accounts, signers: Any) -> None:
    with reverts("ContributionRegistryUnknownModel", 99):
        submit(ledger, build_round(99, 1, {accounts.alice.address: E18}), signers, accounts.payer)


# ----------------------------------------------------------------------------- publishScores


def _many_round(model_id: int, count: int, start: int = 0x1000) -> BuiltRound:
    allocations = {to_checksum_address(f"0x{start + i:040x}"): (i + 1) * E18 for i in range(count)}
    return build_round(model_id, 1, allocations)


def test_publish_scores_reverts_when_caller_not_oracle(
    ledger: OpenLedger, chain: Chain, dist: Any, accounts: Accounts, round1: BuiltRound, signers: Any
) -> None:
    """Only oracles publish: not a stranger, not the round's own submitter, not the admin."""
    submit(ledger, round1, signers, accounts.payer)
    for caller in (accounts.stranger, accounts.payer, accounts.deployer):
        with reverts("RewardDistributorUnauthorizedPublisher", caller.address):
            publish(ledger, round1, caller)
    # Any oracle may publish its own list, whether or not it signed the round, chunk by chunk.
    publish(ledger, round1, accounts.oracles[2], entries=round1.entries[:1])
    # A removed oracle may not.
    admin(ledger, accounts.deployer, dist.functions.removeOracle(accounts.oracles[2].address))
    with reverts("RewardDistributorUnauthorizedPublisher", accounts.oracles[2].address):
        publish(ledger, round1, accounts.oracles[2], entries=round1.entries[1:])
    publish(ledger, round1, accounts.oracles[0], entries=round1.entries[:1])
    publish(ledger, round1, accounts.oracles[0], entries=round1.entries[1:])
    assert _pending(dist, round1.round.model_id)["scoresPublisher"] == accounts.oracles[0].address


def test_publish_scores_reverts_when_no_such_pending_round(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    with reverts("RewardDistributorNoPendingRound", model.model_id, 1):
        publish(ledger, round1, accounts.oracles[0])
    submit(ledger, round1, signers, accounts.payer)
    with reverts("RewardDistributorNoPendingRound", model.model_id, 2):
        publish(ledger, round1.with_round(round_id=2), accounts.oracles[0])


def test_publish_scores_reverts_when_entries_not_ascending(
    ledger: OpenLedger, accounts: Accounts, model: Model, signers: Any
) -> None:
    built = _many_round(model.model_id, 4)
    submit(ledger, built, signers, accounts.payer)
    swapped = [built.entries[1], built.entries[0]]
    with reverts("RewardDistributorScoresNotAscending", built.entries[1].account, built.entries[0].account):
        publish(ledger, built, accounts.oracles[0], entries=swapped)
    # Across chunks: a second chunk may not repeat (or go below) the last account already published.
    publish(ledger, built, accounts.oracles[0], entries=built.entries[:2])
    with reverts("RewardDistributorScoresNotAscending", built.entries[1].account, built.entries[1].account):
        publish(ledger, built, accounts.oracles[0], entries=built.entries[1:])
    with reverts("RewardDistributorScoresNotAscending", built.entries[1].account, built.entries[0].account):
        publish(ledger, built, accounts.oracles[0], entries=built.entries[0:1])


def test_publish_scores_running_hash_does_not_depend_on_chunking(
    ledger: OpenLedger, dist: Any, tester: Any, accounts: Accounts, model: Model, signers: Any
) -> None:
    built = _many_round(model.model_id, 7)
    submit(ledger, built, signers, accounts.payer)
    expected = scores_hash(built.entries)
    assert expected == built.round.scores_hash
    for chunk in (1, 2, 3, 7):
        snapshot = tester.take_snapshot()
        receipts = publish(ledger, built, accounts.oracles[0], chunk=chunk)
        logged = [e for r in receipts for e in events(dist, "ScoresPublished", r)]
        assert [e["firstIndex"] for e in logged] == list(range(0, 7, chunk))
        # Each event's running hash is the hash of the list so far, so an indexer can check every chunk.
        for event in logged:
            assert event["runningHash"] == scores_hash(built.entries[: event["firstIndex"] + len(event["scores"])])
        assert all(e["publisher"] == accounts.oracles[0].address for e in logged)
        own = score_list(ledger, model.model_id, accounts.oracles[0].address)
        assert own["runningHash"] == logged[-1]["runningHash"] == expected
        assert own["count"] == 7 and own["amount"] == built.round.emission
        assert own["lastAccount"] == built.entries[-1].account
        assert own["digest"] == _pending(dist, model.model_id)["digest"]
        assert _pending(dist, model.model_id)["scoresPublisher"] == accounts.oracles[0].address
        tester.revert_to_snapshot(snapshot)


def test_front_running_submitter_cannot_block_the_round(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    """Anyone who sees the oracles' signatures (in the mempool) can front-run the submission, but that no
    longer lets them publish: before, the submitter was a publisher and one entry for account 0xff..ff
    (after which no account is ascending, and a published chunk could not be undone) blocked the round for
    good. Now the attacker's chunk is refused, and the oracles publish the true list and finalize."""
    submit(ledger, round1, signers, accounts.stranger)  # front-run with the oracles' own signatures
    assert _pending(dist, model.model_id)["submitter"] == accounts.stranger.address
    bogus = [ScoreEntry("0x" + "ff" * 20, 0, 0)]
    with reverts("RewardDistributorUnauthorizedPublisher", accounts.stranger.address):
        publish(ledger, round1, accounts.stranger, entries=bogus)
    with reverts("RewardDistributorUnauthorizedPublisher", accounts.stranger.address):
        reset(ledger, round1, accounts.stranger)
    assert score_list(ledger, model.model_id, accounts.stranger.address)["count"] == 0
    publish(ledger, round1, accounts.oracles[0])
    finalize(ledger, model.model_id, accounts.oracles[0])
    assert dist.functions.finalizedRound(model.model_id).call()[0] == round1.round.merkle_root


# ----------------------------------------------------------------------------- resetScores


def test_reset_scores_reverts_when_caller_not_oracle(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    publish(ledger, round1, accounts.oracles[0], entries=round1.entries[:1])
    before = _pending(dist, model.model_id), score_list(ledger, model.model_id, accounts.oracles[0].address)
    for caller in (accounts.stranger, accounts.payer, accounts.deployer):  # the submitter and the admin too
        with reverts("RewardDistributorUnauthorizedPublisher", caller.address):
            reset(ledger, round1, caller)
    assert (_pending(dist, model.model_id), score_list(ledger, model.model_id, accounts.oracles[0].address)) == before


def test_reset_scores_reverts_when_no_such_pending_round(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    oracle = accounts.oracles[0]
    for round_id in (1, 0):
        with reverts("RewardDistributorNoPendingRound", model.model_id, round_id):
            reset(ledger, round1.with_round(round_id=round_id), oracle)
    submit(ledger, round1, signers, accounts.payer)
    publish(ledger, round1, oracle)
    for round_id in (2, 0):
        with reverts("RewardDistributorNoPendingRound", model.model_id, round_id):
            reset(ledger, round1.with_round(round_id=round_id), oracle)
    with reverts("RewardDistributorNoPendingRound", 99, 1):
        reset(ledger, round1.with_round(model_id=99), oracle)
    finalize(ledger, model.model_id, accounts.payer)
    with reverts("RewardDistributorNoPendingRound", model.model_id, 1):  # final: nothing to reset any more
        reset(ledger, round1, oracle)


def test_reset_scores_clears_only_the_callers_own_list_and_emits(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    publisher, other = accounts.oracles[0], accounts.oracles[2]
    publish(ledger, round1, publisher, entries=round1.entries[:1])
    before = score_list(ledger, model.model_id, publisher.address)
    assert before["count"] == 1 and before["amount"] == round1.entries[0].amount
    pending = _pending(dist, model.model_id)
    # Another oracle's reset clears its own (empty) list, not the publisher's.
    receipt = reset(ledger, round1, other)
    assert events(dist, "ScoresReset", receipt) == [{"modelId": model.model_id, "roundId": 1, "oracle": other.address}]
    assert score_list(ledger, model.model_id, publisher.address) == before
    reset(ledger, round1, publisher)
    assert score_list(ledger, model.model_id, publisher.address) == {
        "runningHash": b"\x00" * 32, "lastAccount": ZERO_ADDRESS, "amount": 0, "digest": b"\x00" * 32, "count": 0}
    # The pending round is untouched (same root, digest, submitter, challenge end).
    assert _pending(dist, model.model_id) == pending


def test_a_wrong_list_blocks_nobody_and_its_oracle_can_redo_it(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    """A wrong chunk (here an entry for 0xff..ff, after which no account is ascending) spoils only its
    publisher's own list: another oracle publishes the right list from index 0, and the publisher can
    reset its own and redo it; the round finalizes, even after the challenge window."""
    submit(ledger, round1, signers, accounts.payer)
    oracle = accounts.oracles[0]
    bogus = ScoreEntry(to_checksum_address("0x" + "ff" * 20), 0, 0)
    publish(ledger, round1, oracle, entries=[bogus])
    with reverts("RewardDistributorScoresNotAscending", bogus.account, round1.entries[0].account):
        publish(ledger, round1, oracle)
    with reverts("RewardDistributorScoresIncomplete", model.model_id, 1):
        finalize(ledger, model.model_id, accounts.payer)
    reset(ledger, round1, oracle)
    (receipt,) = publish(ledger, round1, oracle, entries=round1.entries[:1])
    (event,) = events(dist, "ScoresPublished", receipt)
    assert event["firstIndex"] == 0 and event["publisher"] == oracle.address
    (receipt,) = publish(ledger, round1, accounts.oracles[1])  # another oracle's whole list completes first
    (event,) = events(dist, "ScoresCompleted", receipt)
    assert event["publisher"] == accounts.oracles[1].address
    with reverts("RewardDistributorScoresAlreadyComplete", model.model_id, 1):
        publish(ledger, round1, oracle, entries=round1.entries[1:])
    finalize(ledger, model.model_id, accounts.payer)
    assert dist.functions.finalizedRound(model.model_id).call()[:3] == [round1.round.merkle_root, 1, 1_000 * E18]
    claim(ledger, round1, accounts.alice.address, accounts.alice)
    assert ledger.stake_token(model.model_id).functions.balanceOf(accounts.alice.address).call() == 600 * E18


# ----------------------------------------------------------------------------- finalizeRound


def test_finalize_round_makes_root_claimable_and_emits(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    publish(ledger, round1, accounts.oracles[0])
    receipt = finalize(ledger, model.model_id, accounts.stranger)  # anyone may finalize
    assert events(dist, "RoundFinalized", receipt) == [{
        "modelId": model.model_id, "roundId": 1, "merkleRoot": round1.round.merkle_root,
        "cumulativeEmission": 1_000 * E18,
    }]
    assert dist.functions.finalizedRound(model.model_id).call() == [
        round1.round.merkle_root, 1, 1_000 * E18, model.stake_token]
    assert _pending(dist, model.model_id)["roundId"] == 0


def test_finalize_round_starts_the_stake_tokens_fee_period(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    """Finality makes the round's whole cumulative emission earn fees (claimed or not), and newly claimed
    stake start earning from the fee per share at that moment."""
    token = ledger.stake_token(model.model_id)
    submit(ledger, round1, signers, accounts.payer)
    publish(ledger, round1, accounts.oracles[0])
    receipt = finalize(ledger, model.model_id, accounts.stranger)
    assert events(token, "FeePeriodStarted", receipt) == [{"feeSupply": 1_000 * E18, "claimStartFeePerShare": 0}]
    assert token.functions.feeSupply().call() == 1_000 * E18
    holders = _pay(ledger, accounts.payer, model.model_id, 100 * E18)
    per_share = token.functions.feePerShare().call()
    assert per_share == holders * FEE_PRECISION // (1_000 * E18) > 0
    round2 = build_round(model.model_id, 2, {accounts.carol.address: 500 * E18}, previous=round1)
    submit(ledger, round2, signers, accounts.payer)
    publish(ledger, round2, accounts.oracles[0])
    receipt = finalize(ledger, model.model_id, accounts.stranger)
    assert events(token, "FeePeriodStarted", receipt) == [
        {"feeSupply": 1_500 * E18, "claimStartFeePerShare": per_share}]
    assert token.functions.feeSupply().call() == 1_500 * E18
    assert token.functions.claimStartFeePerShare().call() == per_share


def test_finalize_round_reverts_when_nothing_pending(ledger: OpenLedger, accounts: Accounts, model: Model) -> None:
    with reverts("RewardDistributorNoPendingRound", model.model_id, 0):
        ledger.chain.transact(ledger.distributor.functions.finalizeRound(model.model_id), accounts.stranger)


def test_finalize_round_reverts_when_challenge_window_open(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    publish(ledger, round1, accounts.oracles[0])
    with reverts("RewardDistributorChallengeWindowOpen", _ends_at(dist, model.model_id)):
        ledger.chain.transact(dist.functions.finalizeRound(model.model_id), accounts.stranger)


def test_finalize_round_reverts_when_scores_missing(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    with reverts("RewardDistributorScoresIncomplete", model.model_id, 1):
        finalize(ledger, model.model_id, accounts.stranger)


def test_finalize_round_reverts_when_scores_incomplete(
    ledger: OpenLedger, accounts: Accounts, model: Model, signers: Any
) -> None:
    built = _many_round(model.model_id, 6)
    submit(ledger, built, signers, accounts.payer)
    publish(ledger, built, accounts.oracles[0], chunk=3, entries=built.entries[:3])  # chunk 1 of 2
    with reverts("RewardDistributorScoresIncomplete", model.model_id, 1):
        finalize(ledger, model.model_id, accounts.stranger)
    publish(ledger, built, accounts.oracles[0], entries=built.entries[3:])
    finalize(ledger, model.model_id, accounts.stranger)


def test_finalize_round_reverts_when_a_published_score_is_altered(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    first, second = round1.entries
    altered = [ScoreEntry(first.account, first.score, first.amount + 1), ScoreEntry(second.account, second.score,
                                                                                     second.amount - 1)]
    publish(ledger, round1, accounts.oracles[0], entries=altered)  # same total, one amount moved
    with reverts("RewardDistributorScoresIncomplete", model.model_id, 1):
        finalize(ledger, model.model_id, accounts.stranger)


def test_finalize_round_reverts_when_score_amounts_do_not_sum_to_emission(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    """Oracles signed a list whose hash matches but whose allocations add up to less than the emission: it
    never completes the round. One that adds up to more is refused as it is published."""
    short = [ScoreEntry(e.account, e.score, e.amount // 2) for e in round1.entries]
    lying = round1.with_round(scores_hash=scores_hash(short))
    submit(ledger, lying, signers, accounts.payer)
    publish(ledger, lying, accounts.oracles[0], entries=short)
    assert _pending(dist, model.model_id)["scoresPublisher"] == ZERO_ADDRESS
    with reverts("RewardDistributorScoresIncomplete", model.model_id, 1):
        finalize(ledger, model.model_id, accounts.stranger)
    over = [ScoreEntry(e.account, e.score, e.amount * 2) for e in round1.entries]
    with reverts("RewardDistributorScoresAmountMismatch", 2_000 * E18, 1_000 * E18):
        publish(ledger, lying, accounts.oracles[1], entries=over)


def test_shortening_the_challenge_window_does_not_shorten_a_pending_round(
    ledger: OpenLedger, chain: Chain, dist: Any, tester: Any, accounts: Accounts, model: Model, round1: BuiltRound,
    signers: Any,
) -> None:
    shorten = dist.functions.setChallengeWindow(MIN_CHALLENGE_WINDOW)
    schedule_admin(ledger, accounts.deployer, shorten)  # public for the timelock's delay, before the round
    submit(ledger, round1, signers, accounts.payer)
    # Completing the score list starts the full window (the guardian reviews the published scores).
    ends_at = _timestamp(ledger, publish(ledger, round1, accounts.oracles[0])[-1]) + WINDOW
    ledger.execute_admin_call(accounts.deployer, shorten)
    assert dist.functions.challengeWindow().call() == MIN_CHALLENGE_WINDOW
    assert _ends_at(dist, model.model_id) == challenge_ends_at(ledger, model.model_id) == ends_at
    with reverts("RewardDistributorChallengeWindowOpen", ends_at):
        chain.transact(dist.functions.finalizeRound(model.model_id), accounts.stranger)
    # The guardian can still veto within the original window, up to its last second.
    tester.time_travel(ends_at - 1)
    with reverts("RewardDistributorChallengeWindowOpen", ends_at):
        chain.transact(dist.functions.finalizeRound(model.model_id), accounts.stranger)
    receipt = chain.transact(dist.functions.vetoRound(model.model_id), accounts.deployer)
    assert _timestamp(ledger, receipt) < ends_at
    assert [e["roundId"] for e in events(dist, "RoundVetoed", receipt)] == [1]
    # A round submitted after the change gets the new (shorter) window, counted from its scores' completion.
    fixed = build_round(model.model_id, 1, {accounts.alice.address: 1_000 * E18})
    receipt = submit(ledger, fixed, signers, accounts.payer)
    assert _ends_at(dist, model.model_id) == _timestamp(ledger, receipt) + MIN_CHALLENGE_WINDOW
    published_at = _timestamp(ledger, publish(ledger, fixed, accounts.oracles[0])[-1])
    assert _ends_at(dist, model.model_id) == published_at + MIN_CHALLENGE_WINDOW
    end_challenge_window(ledger, model.model_id)
    with reverts("RewardDistributorChallengeWindowClosed", published_at + MIN_CHALLENGE_WINDOW):
        chain.transact(dist.functions.vetoRound(model.model_id), accounts.deployer)


def test_lengthening_the_challenge_window_does_not_lengthen_a_pending_round(
    ledger: OpenLedger, chain: Chain, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    lengthen = dist.functions.setChallengeWindow(10 * WINDOW)
    schedule_admin(ledger, accounts.deployer, lengthen)
    submit(ledger, round1, signers, accounts.payer)
    ends_at = _timestamp(ledger, publish(ledger, round1, accounts.oracles[0])[-1]) + WINDOW
    ledger.execute_admin_call(accounts.deployer, lengthen)
    end_challenge_window(ledger, model.model_id)
    with reverts("RewardDistributorChallengeWindowClosed", ends_at):
        chain.transact(dist.functions.vetoRound(model.model_id), accounts.deployer)
    receipt = chain.transact(dist.functions.finalizeRound(model.model_id), accounts.stranger)
    assert _timestamp(ledger, receipt) == ends_at
    assert dist.functions.finalizedRound(model.model_id).call()[1] == 1


# ----------------------------------------------------------------------------- vetoRound


def test_veto_round_reverts_when_caller_not_guardian(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    for caller in (accounts.stranger, accounts.oracles[0]):
        with reverts("AccessControlUnauthorizedAccount", caller.address, GUARDIAN_ROLE):
            ledger.chain.transact(ledger.distributor.functions.vetoRound(model.model_id), caller)


def test_veto_round_reverts_when_nothing_pending(ledger: OpenLedger, accounts: Accounts, model: Model) -> None:
    with reverts("RewardDistributorNoPendingRound", model.model_id, 0):
        ledger.chain.transact(ledger.distributor.functions.vetoRound(model.model_id), accounts.deployer)


def test_veto_round_reverts_after_challenge_window(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    publish(ledger, round1, accounts.oracles[0])
    ends_at = _ends_at(dist, model.model_id)
    end_challenge_window(ledger, model.model_id)
    with reverts("RewardDistributorChallengeWindowClosed", ends_at):
        ledger.chain.transact(dist.functions.vetoRound(model.model_id), accounts.deployer)


def test_veto_round_after_window_clears_a_round_whose_scores_can_never_match(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, signers: Any
) -> None:
    """A round that can never finalize (an oracle bug signed a score list whose amounts do not add up to
    the emission) would otherwise block the model forever: finalize fails, and no other round can be
    submitted while it is pending."""
    honest = build_round(model.model_id, 1, {accounts.alice.address: 1_000 * E18})
    wrong = [ScoreEntry(accounts.alice.address, honest.entries[0].score, 999 * E18)]
    broken = dataclasses.replace(
        honest, round=dataclasses.replace(honest.round, scores_hash=scores_hash(wrong)), entries=wrong)
    submit(ledger, broken, signers, accounts.payer)
    publish(ledger, broken, accounts.oracles[0])
    end_challenge_window(ledger, model.model_id)
    with reverts("RewardDistributorScoresIncomplete", model.model_id, 1):
        ledger.chain.transact(dist.functions.finalizeRound(model.model_id), accounts.stranger)
    receipt = ledger.chain.transact(dist.functions.vetoRound(model.model_id), accounts.deployer)
    assert [e["roundId"] for e in events(dist, "RoundVetoed", receipt)] == [1]
    run_round(ledger, build_round(model.model_id, 1, {accounts.bob.address: 1_000 * E18}), signers, accounts.payer)
    assert dist.functions.finalizedRound(model.model_id).call()[1] == 1


def test_completing_the_score_list_gives_the_guardian_a_full_window(
    ledger: OpenLedger, dist: Any, tester: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    end_challenge_window(ledger, model.model_id)  # scores published only after the original window
    receipt = publish(ledger, round1, accounts.oracles[0])[-1]
    ends_at = _timestamp(ledger, receipt) + WINDOW
    assert [(e["roundId"], e["challengeEndsAt"]) for e in events(dist, "ScoresCompleted", receipt)] == [(1, ends_at)]
    with reverts("RewardDistributorChallengeWindowOpen", ends_at):
        ledger.chain.transact(dist.functions.finalizeRound(model.model_id), accounts.stranger)
    receipt = ledger.chain.transact(dist.functions.vetoRound(model.model_id), accounts.deployer)
    assert [e["roundId"] for e in events(dist, "RoundVetoed", receipt)] == [1]


def test_reset_scores_reverts_once_the_list_is_complete(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    publish(ledger, round1, accounts.oracles[0])
    with reverts("RewardDistributorScoresAlreadyComplete", model.model_id, 1):
        ledger.chain.transact(dist.functions.resetScores(model.model_id, 1), accounts.oracles[2])
    finalize(ledger, model.model_id, accounts.stranger)


def test_vetoed_round_cannot_return_but_a_new_round_with_same_id_can(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    signatures = sign(round1.round, signers, ledger.chain.chain_id, dist.address)
    submit(ledger, round1, [], accounts.payer, signatures)
    digest = round_digest(ledger.chain.chain_id, dist.address, round1.round)
    receipt = ledger.chain.transact(dist.functions.vetoRound(model.model_id), accounts.deployer)
    assert events(dist, "RoundVetoed", receipt) == [
        {"modelId": model.model_id, "roundId": 1, "digest": digest, "guardian": accounts.deployer.address}]
    assert _pending(dist, model.model_id)["roundId"] == 0
    with reverts("RewardDistributorRoundWasVetoed", digest):
        submit(ledger, round1, [], accounts.payer, signatures)
    # Claims on the vetoed root never work: nothing is final.
    with reverts("RewardDistributorNoFinalizedRound", model.model_id):
        claim(ledger, round1, accounts.alice.address, accounts.alice)
    fixed = build_round(model.model_id, 1, {accounts.alice.address: 500 * E18, accounts.bob.address: 500 * E18})
    run_round(ledger, fixed, signers, accounts.payer)
    with reverts("RewardDistributorInvalidProof", model.model_id, accounts.alice.address, 600 * E18):
        claim(ledger, round1, accounts.alice.address, accounts.alice)
    claim(ledger, fixed, accounts.alice.address, accounts.alice)
    assert ledger.stake_token(model.model_id).functions.balanceOf(accounts.alice.address).call() == 500 * E18


# ----------------------------------------------------------------------------- claim


def _balance(ledger: OpenLedger, model_id: int, account: str) -> int:
    return int(ledger.stake_token(model_id).functions.balanceOf(account).call())


def test_claim_reverts_before_any_round_is_final(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    publish(ledger, round1, accounts.oracles[0])
    with reverts("RewardDistributorNoFinalizedRound", model.model_id):
        claim(ledger, round1, accounts.alice.address, accounts.alice)


def test_claim_mints_to_account_and_emits(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    run_round(ledger, round1, signers, accounts.payer)
    receipt = claim(ledger, round1, accounts.alice.address, accounts.alice)
    assert events(dist, "Claimed", receipt) == [
        {"modelId": model.model_id, "account": accounts.alice.address, "amount": 600 * E18,
         "cumulativeAmount": 600 * E18}]
    assert _balance(ledger, model.model_id, accounts.alice.address) == 600 * E18
    assert dist.functions.claimed(model.model_id, accounts.alice.address).call() == 600 * E18


def test_claim_reverts_when_claimed_twice(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    run_round(ledger, round1, signers, accounts.payer)
    claim(ledger, round1, accounts.alice.address, accounts.alice)
    with reverts("RewardDistributorNothingToClaim", accounts.alice.address, 600 * E18, 600 * E18):
        claim(ledger, round1, accounts.alice.address, accounts.alice)


def test_claim_reverts_with_another_accounts_proof(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    run_round(ledger, round1, signers, accounts.payer)
    _, amount, proof = round1.leaf(accounts.alice.address)
    for account, value in ((accounts.carol.address, amount), (accounts.bob.address, amount),
                           (accounts.alice.address, amount + 1)):
        with reverts("RewardDistributorInvalidProof", model.model_id, account, value):
            ledger.chain.transact(dist.functions.claim(model.model_id, account, value, proof), accounts.carol)


def test_claim_by_third_party_mints_to_the_account_only(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    run_round(ledger, round1, signers, accounts.payer)
    claim(ledger, round1, accounts.bob.address, accounts.stranger)
    assert _balance(ledger, model.model_id, accounts.bob.address) == 400 * E18
    assert _balance(ledger, model.model_id, accounts.stranger.address) == 0


def test_claims_across_three_rounds_pay_the_cumulative_delta(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, signers: Any
) -> None:
    alice, bob, carol = accounts.alice.address, accounts.bob.address, accounts.carol.address
    plan = [{alice: 600 * E18, bob: 400 * E18}, {alice: 100 * E18, carol: 900 * E18}, {bob: 250 * E18, carol: 50 * E18}]
    # Who claims after each round: bob skips round 2 and collects rounds 2-3 at once.
    claimers = [[alice, bob], [alice, carol], [alice, bob, carol]]
    token = ledger.stake_token(model.model_id)
    previous: BuiltRound | None = None
    paid: dict[str, int] = {}
    for round_id, (allocations, who) in enumerate(zip(plan, claimers, strict=True), start=1):
        built = run_round(ledger, build_round(model.model_id, round_id, allocations, previous=previous),
                          signers, accounts.payer)
        for account in who:
            _, cumulative, _ = built.leaf(account)
            if cumulative == paid.get(account, 0):
                with reverts("RewardDistributorNothingToClaim", account, cumulative, cumulative):
                    claim(ledger, built, account, accounts.stranger)
                continue
            receipt = claim(ledger, built, account, accounts.stranger)
            (event,) = events(dist, "Claimed", receipt)
            assert event["amount"] == cumulative - paid.get(account, 0)
            (transfer,) = events(token, "Transfer", receipt)
            assert transfer["value"] == event["amount"] and transfer["to"] == account
            paid[account] = cumulative
            assert _balance(ledger, model.model_id, account) == cumulative
            assert token.functions.totalSupply().call() <= built.round.cumulative_emission
        previous = built
    assert paid == {alice: 700 * E18, bob: 650 * E18, carol: 950 * E18}
    assert token.functions.totalSupply().call() == 2_300 * E18 == previous.round.cumulative_emission


def test_claim_reverts_when_tree_pays_more_than_cumulative_emission(
    ledger: OpenLedger, accounts: Accounts, model: Model, signers: Any
) -> None:
    """A tree holding more than the signed emission (faulty oracles) can never mint past the emission."""
    built = build_round(model.model_id, 1, {accounts.alice.address: 1_000 * E18},
                        extra_leaves={accounts.bob.address: 1})
    run_round(ledger, built, signers, accounts.payer)
    claim(ledger, built, accounts.alice.address, accounts.alice)
    with reverts("ModelStakeTokenSupplyCapExceeded", 1_000 * E18 + 1, 1_000 * E18):
        claim(ledger, built, accounts.bob.address, accounts.bob)


def test_claim_many_over_three_models_in_one_transaction(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, signers: Any
) -> None:
    models = [model, register(ledger, accounts.owner, "STK2"), register(ledger, accounts.owner, "STK3")]
    alice, bob = accounts.alice.address, accounts.bob.address
    rounds = [run_round(ledger, build_round(m.model_id, 1, {alice: (i + 1) * E18, bob: 7 * E18}), signers,
                        accounts.payer) for i, m in enumerate(models)]
    inputs = [(b.round.model_id, *b.leaf(account)) for b, account in zip(rounds, (alice, bob, alice), strict=True)]
    # One bad claim reverts the whole batch.
    bad = [*inputs[:2], (inputs[2][0], alice, inputs[2][2] + 1, inputs[2][3])]
    with reverts("RewardDistributorInvalidProof", models[2].model_id, alice, 3 * E18 + 1):
        ledger.chain.transact(dist.functions.claimMany(bad), accounts.stranger)
    # Someone claims one entry first: the batch skips it instead of reverting.
    ledger.chain.transact(dist.functions.claim(*inputs[1]), accounts.stranger)
    receipt = ledger.chain.transact(dist.functions.claimMany(inputs), accounts.stranger)
    assert [(e["modelId"], e["account"], e["amount"]) for e in events(dist, "Claimed", receipt)] == [
        (models[0].model_id, alice, E18), (models[2].model_id, alice, 3 * E18)]
    assert [_balance(ledger, m.model_id, a) for m, a in zip(models, (alice, bob, alice), strict=True)] == [
        E18, 7 * E18, 3 * E18]
    assert _balance(ledger, models[0].model_id, bob) == 0


# ----------------------------------------------------------------------------- fees from finality


@pytest.mark.parametrize("first", ["alice", "bob"])
def test_claim_order_does_not_change_fees(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any, first: str
) -> None:
    """Stake earns fees from its round's finality, not from its claim: fees paid before round 1 is final
    (held), then fees paid between the two claims, end up split exactly 600:400 whoever claims first."""
    token = ledger.stake_token(model.model_id)
    held = _pay(ledger, accounts.payer, model.model_id, 100 * E18 + 7)
    assert token.functions.heldFees().call() == held and token.functions.feePerShare().call() == 0
    submit(ledger, round1, signers, accounts.payer)
    publish(ledger, round1, accounts.oracles[0])
    receipt = finalize(ledger, model.model_id, accounts.stranger)
    assert events(token, "FeePeriodStarted", receipt) == [{"feeSupply": 1_000 * E18, "claimStartFeePerShare": 0}]
    assert [e["amount"] for e in events(token, "FeesAccrued", receipt)] == [held]
    assert token.functions.heldFees().call() == 0
    a, b = (accounts.alice, accounts.bob) if first == "alice" else (accounts.bob, accounts.alice)
    claim(ledger, round1, a.address, a)
    later = _pay(ledger, accounts.payer, model.model_id, 70 * E18 + 3)
    claim(ledger, round1, b.address, b)
    total = held + later
    for account, stake in ((accounts.alice, 600 * E18), (accounts.bob, 400 * E18)):
        exact = total * stake // (1_000 * E18)
        fees = token.functions.feesOf(account.address).call()
        assert exact - 3 <= fees <= exact, (account.address, fees, exact)
        before = ledger.erc20(ledger.dev_payment_token or "").functions.balanceOf(account.address).call()
        ledger.chain.transact(token.functions.withdrawFees(), account)
        after = ledger.erc20(ledger.dev_payment_token or "").functions.balanceOf(account.address).call()
        assert after - before == fees


def test_fees_of_stake_unclaimed_across_a_later_final_round_are_recycled_not_locked(
    ledger: OpenLedger, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    """A claim credits new stake with the fees since the *latest* final round. Round-1 stake still
    unclaimed when round 2 becomes final earned fees no claim can credit any more: the token hands
    them to all stake at that moment (held-fee style) instead of leaving them locked."""
    token = ledger.stake_token(model.model_id)
    alice, bob, carol = accounts.alice, accounts.bob, accounts.carol
    run_round(ledger, round1, signers, accounts.payer)  # alice 600, bob 400
    claim(ledger, round1, alice.address, alice)
    first = _pay(ledger, accounts.payer, model.model_id, 100 * E18)
    round2 = run_round(ledger, build_round(model.model_id, 2, {carol.address: 500 * E18}, previous=round1), signers,
                       accounts.payer)
    second = _pay(ledger, accounts.payer, model.model_id, 60 * E18)
    claim(ledger, round2, bob.address, bob)
    claim(ledger, round2, carol.address, carol)
    orphaned = first * 400 // 1_000  # bob's unclaimed stake's share of the first payment
    expected = {
        alice.address: first * 600 // 1_000 + (orphaned + second) * 600 // 1_500,
        bob.address: (orphaned + second) * 400 // 1_500,
        carol.address: (orphaned + second) * 500 // 1_500,
    }
    for account, exact in expected.items():
        assert exact - 3 <= token.functions.feesOf(account).call() <= exact
    kept = ledger.erc20(ledger.dev_payment_token or "").functions.balanceOf(token.address).call() - sum(
        token.functions.feesOf(a).call() for a in expected)
    assert 0 <= kept <= 10  # rounding dust only: nothing is locked


# ----------------------------------------------------------------------------- pause


def test_pause_blocks_rounds_and_claims_until_unpaused(
    ledger: OpenLedger, chain: Chain, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    pause, unpause = dist.functions.pause(), dist.functions.unpause()
    chain.transact(pause, accounts.deployer)
    with reverts("EnforcedPause"):
        submit(ledger, round1, signers, accounts.payer)
    chain.transact(unpause, accounts.deployer)
    submit(ledger, round1, signers, accounts.payer)

    chain.transact(pause, accounts.deployer)
    with reverts("EnforcedPause"):
        publish(ledger, round1, accounts.oracles[0])
    chain.transact(unpause, accounts.deployer)
    publish(ledger, round1, accounts.oracles[0])

    chain.transact(pause, accounts.deployer)
    with reverts("EnforcedPause"):
        reset(ledger, round1, accounts.oracles[0])
    chain.transact(unpause, accounts.deployer)
    assert _pending(dist, model.model_id)["scoresPublisher"] == accounts.oracles[0].address

    chain.transact(pause, accounts.deployer)
    with reverts("EnforcedPause"):
        finalize(ledger, model.model_id, accounts.payer)
    chain.transact(unpause, accounts.deployer)
    finalize(ledger, model.model_id, accounts.payer)

    chain.transact(pause, accounts.deployer)
    with reverts("EnforcedPause"):
        claim(ledger, round1, accounts.alice.address, accounts.alice)
    with reverts("EnforcedPause"):
        chain.transact(dist.functions.claimMany([(model.model_id, *round1.leaf(accounts.alice.address))]),
                       accounts.alice)
    with reverts("EnforcedPause"):
        chain.transact(pause, accounts.deployer)
    chain.transact(unpause, accounts.deployer)
    with reverts("ExpectedPause"):
        chain.transact(unpause, accounts.deployer)
    claim(ledger, round1, accounts.alice.address, accounts.alice)
    assert _balance(ledger, model.model_id, accounts.alice.address) == 600 * E18


def test_guardian_can_veto_while_paused(
    ledger: OpenLedger, chain: Chain, dist: Any, accounts: Accounts, model: Model, round1: BuiltRound, signers: Any
) -> None:
    submit(ledger, round1, signers, accounts.payer)
    chain.transact(dist.functions.pause(), accounts.deployer)
    chain.transact(dist.functions.vetoRound(model.model_id), accounts.deployer)
    assert _pending(dist, model.model_id)["roundId"] == 0


# ----------------------------------------------------------------------------- Merkle cross-check


@pytest.mark.parametrize("size", [1, 2, 3, 7, 33])
def test_every_leaf_of_a_merkle_py_tree_claims_on_chain(
    ledger: OpenLedger, dist: Any, accounts: Accounts, model: Model, signers: Any, size: int
) -> None:
    """Proofs from `openledger_chain.merkle` (byte-compatible with @openzeppelin/merkle-tree) pass
    `MerkleProof.verifyCalldata` for every leaf, whatever the tree's shape."""
    total = sum(range(1, size + 1))
    unit = EMISSION_PER_ROUND // total
    allocations = {to_checksum_address(f"0x{0xA11CE000 + 7919 * i:040x}"): (i + 1) * unit for i in range(size)}
    built = run_round(ledger, build_round(model.model_id, 1, allocations), signers, accounts.payer, chunk=10)
    assert len(built.tree) == size
    assert dist.functions.finalizedRound(model.model_id).call()[0] == bytes.fromhex(built.tree.root[2:])
    depths = set()
    for account, amount in allocations.items():
        _, _, proof = built.leaf(account)
        depths.add(len(proof))
        ledger.chain.transact(dist.functions.claim(model.model_id, account, amount, proof), accounts.stranger)
        assert dist.functions.claimed(model.model_id, account).call() == amount
    assert ledger.stake_token(model.model_id).functions.totalSupply().call() == built.round.emission
    assert max(depths) == (size - 1).bit_length()

"""ContributionBonds (issue 23): bond policy, posting at registration, decisions of final rounds, claims, refunds.

The session deployment has no bond vault (`openledger deploy` does not deploy one yet), so these tests deploy
their own registry, distributor (its admin a plain key, here the stranger), vault and a mintable payment token
that can re-enter (armed only in the reentrancy tests), once per session; each test runs in the `ledger`
snapshot, so everything it does is rolled back.

Every revert is asserted by error name and arguments; the attacks: deciding twice, deciding from a pending or a
vetoed round, a forged proof, re-entering through a malicious token, claiming another's bond, a late forfeit of
a withdrawn contribution. The ledger check `vault balance == held + released-unclaimed` runs after each scenario.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from _helpers import deploy, event_args, model_params, reverts
from _ledger_setup import Accounts
from _round_helpers import BuiltRound, build_round, finalize, publish, run_round, submit
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak

from openledger_chain.chain import Chain
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import ContractRevertError
from openledger_chain.merkle import StandardMerkleTree

BOND = 50 * 10**18
WINDOW = 3600
RELEASE, FORFEIT = 1, 2
HELD, RELEASED, FORFEITED, PAID = 1, 2, 3, 4
BOND_LEAF = ["uint256", "uint8"]
RAISE_DELAY = 257
DATA = 0


@dataclass
class BondStack:
    chain: Chain
    registry: Any
    distributor: Any
    vault: Any
    token: Any
    stake_token: Any
    model_id: int
    rounds: SimpleNamespace  # what _round_helpers needs of an OpenLedger: .chain and .distributor


@pytest.fixture(scope="session")
def bond_base(_deployed: Any, accounts: Accounts) -> BondStack:
    chain, _ = _deployed
    deployer = accounts.deployer
    registry = deploy(chain, "ContributionRegistry", deployer, deployer.address)
    distributor = deploy(chain, "RewardDistributor", deployer, registry.address, accounts.stranger.address,
                         deployer.address, [o.address for o in accounts.oracles], 2, WINDOW, 600)
    chain.transact(registry.functions.setStakeMinter(distributor.address), deployer)
    vault = deploy(chain, "ContributionBonds", deployer, registry.address)
    chain.transact(registry.functions.setBondVault(vault.address), deployer)
    token = deploy(chain, "ReentrantPaymentToken", deployer)
    receipt = chain.transact(registry.functions.registerModel(model_params(token.address)), accounts.owner)
    (registered,) = event_args(registry, "ModelRegistered", receipt)
    model_id = registered["modelId"]
    chain.transact(vault.functions.setBondPolicy(model_id, BOND), accounts.owner)
    chain.w3.provider.ethereum_tester.mine_blocks(RAISE_DELAY)
    stake_token = chain.w3.eth.contract(address=registered["stakeToken"], abi=_abi("ModelStakeToken"))
    return BondStack(chain, registry, distributor, vault, token, stake_token, model_id,
                     SimpleNamespace(chain=chain, distributor=distributor))


@pytest.fixture
def s(ledger: OpenLedger, bond_base: BondStack) -> BondStack:
    """`bond_base` inside the test's snapshot."""
    return bond_base


def _abi(name: str) -> Any:
    from openledger_chain.build import load_artifact

    return load_artifact(name).abi


# ----------------------------------------------------------------------------- helpers


def _fund(s: BondStack, who: LocalAccount, amount: int = 10 * BOND, approve: int | None = None) -> None:
    s.chain.transact(s.token.functions.mint(who.address, amount), who)
    s.chain.transact(s.token.functions.approve(s.vault.address, amount if approve is None else approve), who)


def _commit(s: BondStack, who: LocalAccount, content: bytes, salt: bytes = b"\x01" * 32, model_id: int | None = None) -> None:
    model_id = s.model_id if model_id is None else model_id
    commitment = s.registry.functions.contributionCommitment(model_id, who.address, DATA, content, salt).call()
    s.chain.transact(s.registry.functions.commitContributions([commitment]), who)


def _register(s: BondStack, who: LocalAccount, content: bytes, salt: bytes = b"\x01" * 32) -> int:
    """Commit, then register (a later block); returns the contribution id."""
    _commit(s, who, content, salt)
    receipt = s.chain.transact(
        s.registry.functions.registerContribution(s.model_id, DATA, content, "ipfs://c", salt), who)
    return event_args(s.registry, "ContributionRegistered", receipt)[0]["contributionId"]


def _content(tag: str) -> bytes:
    return keccak(text=tag)


def _tree(decisions: Mapping[int, int]) -> StandardMerkleTree:
    return StandardMerkleTree.of(sorted(decisions.items()), BOND_LEAF)


def _proof(tree: StandardMerkleTree, contribution_id: int, decision: int) -> list[bytes]:
    return [bytes.fromhex(p[2:]) for p in tree.get_proof((contribution_id, decision))]


def _round(s: BondStack, round_id: int, previous: BuiltRound | None, decisions: Mapping[int, int] | None,
           accounts: Accounts) -> tuple[BuiltRound, StandardMerkleTree | None]:
    """Round `round_id` allocating 100 stake to alice, deciding `decisions` (contribution id -> decision)."""
    built = build_round(s.model_id, round_id, {accounts.alice.address: 100 * 10**18}, previous=previous)
    tree = _tree(decisions) if decisions else None
    if tree is not None:
        built = built.with_round(bonds_root=bytes.fromhex(tree.root[2:]))
    return built, tree


def _final_round(s: BondStack, round_id: int, previous: BuiltRound | None, decisions: Mapping[int, int] | None,
                 accounts: Accounts) -> tuple[BuiltRound, StandardMerkleTree | None]:
    built, tree = _round(s, round_id, previous, decisions, accounts)
    run_round(s.rounds, built, accounts.oracles[:2], accounts.deployer)
    return built, tree


def _apply(s: BondStack, round_id: int, tree: StandardMerkleTree, decisions: Mapping[int, int], sender: LocalAccount,
           *, proof_of: Mapping[int, int] | None = None) -> Any:
    """applyBondDecisions for `decisions`, each with the proof of `proof_of[id]` (default: its own decision)."""
    inputs = [(cid, d, _proof(tree, cid, (proof_of or decisions).get(cid, d))) for cid, d in decisions.items()]
    return s.chain.transact(s.vault.functions.applyBondDecisions(s.model_id, round_id, inputs), sender)


def _bond(s: BondStack, contribution_id: int) -> tuple[int, int, int]:
    return tuple(s.vault.functions.bondOf(contribution_id).call())


def _balance(s: BondStack, account: str) -> int:
    return int(s.token.functions.balanceOf(account).call())


def _assert_books(s: BondStack, ids: list[int]) -> None:
    """The vault holds exactly the bonds held plus those released and not yet claimed, to the unit."""
    owed = sum(amount for amount, _, status in (_bond(s, i) for i in ids) if status in (HELD, RELEASED))
    assert _balance(s, s.vault.address) == owed


# ----------------------------------------------------------------------------- policy


def test_set_bond_policy_reverts_when_caller_is_not_the_model_owner(s: BondStack, accounts: Accounts) -> None:
    with reverts("ContributionBondsNotModelOwner", s.model_id, accounts.stranger.address):
        s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, 1), accounts.stranger)


def test_set_bond_policy_reverts_when_the_model_does_not_exist(s: BondStack, accounts: Accounts) -> None:
    with reverts("ContributionRegistryUnknownModel", 99):
        s.chain.transact(s.vault.functions.setBondPolicy(99, 1), accounts.owner)


def test_set_bond_policy_reverts_when_unchanged(s: BondStack, accounts: Accounts) -> None:
    with reverts("ContributionBondsPolicyUnchanged", s.model_id, BOND):
        s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, BOND), accounts.owner)
    s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, 2 * BOND), accounts.owner)
    with reverts("ContributionBondsPolicyUnchanged", s.model_id, 2 * BOND):  # the pending raise
        s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, 2 * BOND), accounts.owner)


def test_a_raise_takes_effect_after_the_delay_and_a_cut_at_once(s: BondStack, accounts: Accounts) -> None:
    receipt = s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, 3 * BOND), accounts.owner)
    assert event_args(s.vault, "BondPolicySet", receipt) == [
        {"modelId": s.model_id, "amount": 3 * BOND, "effectiveFrom": receipt["blockNumber"] + RAISE_DELAY}]
    assert s.vault.functions.bondAmount(s.model_id).call() == BOND
    # A registration committed before the raise pays the old bond: it must be revealed within the delay.
    # (Reads run at the latest block's number: block number + RAISE_DELAY is the first that pays the raise.)
    s.chain.w3.provider.ethereum_tester.mine_blocks(RAISE_DELAY - 1)
    assert s.vault.functions.bondAmount(s.model_id).call() == BOND
    s.chain.w3.provider.ethereum_tester.mine_blocks(1)
    assert s.vault.functions.bondAmount(s.model_id).call() == 3 * BOND
    receipt = s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, BOND // 2), accounts.owner)
    assert event_args(s.vault, "BondPolicySet", receipt)[0]["effectiveFrom"] == receipt["blockNumber"]
    assert s.vault.functions.bondAmount(s.model_id).call() == BOND // 2
    assert tuple(s.vault.functions.bondPolicy(s.model_id).call()) == (BOND // 2, 0, 0)


def test_a_cut_cancels_a_pending_raise(s: BondStack, accounts: Accounts) -> None:
    s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, 3 * BOND), accounts.owner)
    s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, BOND // 2), accounts.owner)
    s.chain.w3.provider.ethereum_tester.mine_blocks(RAISE_DELAY)
    assert s.vault.functions.bondAmount(s.model_id).call() == BOND // 2


# ----------------------------------------------------------------------------- posting


def test_register_contribution_posts_the_bond(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    before = _balance(s, alice.address)
    _commit(s, alice, _content("a"))
    receipt = s.chain.transact(
        s.registry.functions.registerContribution(s.model_id, DATA, _content("a"), "ipfs://c", b"\x01" * 32), alice)
    (registered,) = event_args(s.registry, "ContributionRegistered", receipt)
    cid = registered["contributionId"]
    assert event_args(s.vault, "BondPosted", receipt) == [
        {"contributionId": cid, "modelId": s.model_id, "contributor": alice.address, "amount": BOND}]
    assert _bond(s, cid) == (BOND, 0, HELD)
    assert _balance(s, alice.address) == before - BOND
    _assert_books(s, [cid])


def test_register_contributions_posts_every_bond_in_one_transfer(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    contents = [_content(f"batch {i}") for i in range(3)]
    for c in contents:
        _commit(s, alice, c)
    receipt = s.chain.transact(s.registry.functions.registerContributions(
        s.model_id, [(DATA, c, "ipfs://c", b"\x01" * 32) for c in contents]), alice)
    posted = event_args(s.vault, "BondPosted", receipt)
    assert [p["amount"] for p in posted] == [BOND] * 3
    transfers = [t for t in event_args(s.token, "Transfer", receipt) if t["to"] == s.vault.address]
    assert [t["value"] for t in transfers] == [3 * BOND]
    _assert_books(s, [p["contributionId"] for p in posted])


def test_register_contribution_reverts_when_the_bond_is_not_approved(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice, approve=BOND - 1)
    _commit(s, alice, _content("a"))
    with reverts("ContributionBondsTransferFailed", alice.address, BOND):
        s.chain.transact(
            s.registry.functions.registerContribution(s.model_id, DATA, _content("a"), "ipfs://c", b"\x01" * 32), alice)


def test_a_relayed_batch_entry_without_its_bond_fails_by_index(s: BondStack, ledger: OpenLedger,
                                                                 accounts: Accounts) -> None:
    """The registry wraps the vault's error like any other failure of entry i (the relayer drops that entry)."""
    from openledger_chain.contracts import registration_typed_data
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    alice, bob = accounts.alice, accounts.bob
    _fund(s, alice)
    _fund(s, bob, approve=0)
    entries = []
    for who, tag in ((alice, "ra"), (bob, "rb")):
        _commit(s, who, _content(tag))
        nonce = s.registry.functions.nonces(who.address).call()
        message = registration_typed_data(s.chain.chain_id, s.registry.address, s.model_id, DATA, _content(tag),
                                          "ipfs://c", b"\x01" * 32, who.address, nonce, 2**40)
        signed = Account.sign_message(encode_typed_data(full_message=message), who.key)
        entries.append((DATA, _content(tag), "ipfs://c", b"\x01" * 32, who.address, 2**40, signed.signature))
    # ContributionRegistryBatchEntryInvalid(1, ContributionBondsTransferFailed(bob, BOND)), decoded to the inner error.
    with pytest.raises(ContractRevertError) as info:
        s.chain.transact(s.registry.functions.registerContributionsFor(s.model_id, entries), accounts.stranger)
    assert (info.value.name, info.value.batch_index) == ("ContributionBondsTransferFailed", 1)
    assert tuple(info.value.error_args) == (bob.address.lower(), BOND)


def test_a_model_without_a_bond_policy_registers_as_before(s: BondStack, accounts: Accounts) -> None:
    s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, 0), accounts.owner)
    alice = accounts.alice
    before = _balance(s, alice.address)
    cid = _register(s, alice, _content("free"))
    assert _bond(s, cid) == (0, 0, 0)
    assert _balance(s, alice.address) == before


def test_post_bonds_reverts_when_caller_is_not_the_registry(s: BondStack, accounts: Accounts) -> None:
    with reverts("ContributionBondsNotRegistry", accounts.stranger.address):
        s.chain.transact(s.vault.functions.postBonds(s.model_id, 1, 1, accounts.alice.address), accounts.stranger)
    with reverts("ContributionBondsNotRegistry", accounts.stranger.address):
        s.chain.transact(s.vault.functions.onContributionWithdrawn(1, 1), accounts.stranger)


def test_set_bond_vault_reverts_when_set_again(s: BondStack, accounts: Accounts) -> None:
    with reverts("ContributionRegistryBondVaultAlreadySet", s.vault.address):
        s.chain.transact(s.registry.functions.setBondVault(accounts.stranger.address), accounts.deployer)


# ----------------------------------------------------------------------------- decisions


def test_a_released_bond_is_claimed_back_once(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    cid = _register(s, alice, _content("good"))
    _, tree = _final_round(s, 1, None, {cid: RELEASE}, accounts)
    receipt = _apply(s, 1, tree, {cid: RELEASE}, accounts.stranger)
    assert event_args(s.vault, "BondReleased", receipt) == [
        {"contributionId": cid, "roundId": 1, "contributor": alice.address, "amount": BOND}]
    assert _bond(s, cid) == (BOND, 0, RELEASED)
    _assert_books(s, [cid])
    before = _balance(s, alice.address)
    receipt = s.chain.transact(s.vault.functions.claimBond(cid), alice)
    assert event_args(s.vault, "BondClaimed", receipt) == [
        {"contributionId": cid, "contributor": alice.address, "amount": BOND, "refund": False}]
    assert _balance(s, alice.address) == before + BOND
    with reverts("ContributionBondsNotClaimable", cid, PAID, 0, 1):
        s.chain.transact(s.vault.functions.claimBond(cid), alice)
    _assert_books(s, [cid])


def test_a_forfeited_bond_reaches_the_stake_holders_as_fees(s: BondStack, accounts: Accounts) -> None:
    alice, bob = accounts.alice, accounts.bob
    _fund(s, bob)
    cid = _register(s, bob, _content("junk"))
    built, tree = _final_round(s, 1, None, {cid: FORFEIT}, accounts)
    account, amount, proof = built.leaf(alice.address)  # alice holds all of round 1's stake
    s.chain.transact(s.distributor.functions.claim(s.model_id, account, amount, proof), alice)
    receipt = _apply(s, 1, tree, {cid: FORFEIT}, accounts.stranger)
    assert event_args(s.vault, "BondForfeited", receipt) == [
        {"contributionId": cid, "roundId": 1, "modelId": s.model_id, "amount": BOND}]
    assert event_args(s.stake_token, "FeesAccrued", receipt)[0]["amount"] == BOND
    assert _bond(s, cid) == (BOND, 0, FORFEITED)
    assert s.stake_token.functions.feesOf(alice.address).call() == BOND  # the only holder: all of it, to the unit
    with reverts("ContributionBondsNotClaimable", cid, FORFEITED, 0, 1):
        s.chain.transact(s.vault.functions.claimBond(cid), bob)
    _assert_books(s, [cid])


def test_deciding_twice_changes_nothing(s: BondStack, accounts: Accounts) -> None:
    """Applying the same decision again, or a later round's contrary one, is skipped: each bond is decided once."""
    alice = accounts.alice
    _fund(s, alice)
    cid = _register(s, alice, _content("once"))
    built, tree1 = _final_round(s, 1, None, {cid: RELEASE}, accounts)
    _apply(s, 1, tree1, {cid: RELEASE}, accounts.stranger)
    receipt = _apply(s, 1, tree1, {cid: RELEASE}, accounts.stranger)
    assert event_args(s.vault, "BondReleased", receipt) == []
    _, tree2 = _final_round(s, 2, built, {cid: FORFEIT}, accounts)
    receipt = _apply(s, 2, tree2, {cid: FORFEIT}, accounts.stranger)
    assert event_args(s.vault, "BondForfeited", receipt) == []
    assert _bond(s, cid) == (BOND, 0, RELEASED)
    _assert_books(s, [cid])


def test_apply_reverts_when_the_round_is_pending(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    cid = _register(s, alice, _content("p"))
    built, tree = _round(s, 1, None, {cid: FORFEIT}, accounts)
    receipt = submit(s.rounds, built, accounts.oracles[:2], accounts.deployer)
    assert event_args(s.distributor, "BondsRootSubmitted", receipt) == [
        {"modelId": s.model_id, "roundId": 1, "bondsRoot": bytes.fromhex(tree.root[2:])}]
    publish(s.rounds, built, accounts.oracles[0])
    with reverts("ContributionBondsRootNotFinal", s.model_id, 1):
        _apply(s, 1, tree, {cid: FORFEIT}, accounts.stranger)
    receipt = finalize(s.rounds, s.model_id, accounts.deployer)
    assert event_args(s.distributor, "BondsRootFinalized", receipt) == [
        {"modelId": s.model_id, "roundId": 1, "bondsRoot": bytes.fromhex(tree.root[2:])}]
    assert s.distributor.functions.bondsRoot(s.model_id, 1).call() == bytes.fromhex(tree.root[2:])


def test_apply_reverts_when_the_round_was_vetoed(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    cid = _register(s, alice, _content("v"))
    bad, bad_tree = _round(s, 1, None, {cid: FORFEIT}, accounts)
    submit(s.rounds, bad, accounts.oracles[:2], accounts.deployer)
    s.chain.transact(s.distributor.functions.vetoRound(s.model_id), accounts.deployer)  # the guardian
    with reverts("ContributionBondsRootNotFinal", s.model_id, 1):
        _apply(s, 1, bad_tree, {cid: FORFEIT}, accounts.stranger)
    # Its successor (same id, no bond decisions) becomes final: the vetoed root never comes back.
    good, _ = _round(s, 1, None, None, accounts)
    run_round(s.rounds, good, accounts.oracles[:2], accounts.deployer)
    with reverts("ContributionBondsRootNotFinal", s.model_id, 1):
        _apply(s, 1, bad_tree, {cid: FORFEIT}, accounts.stranger)
    assert _bond(s, cid) == (BOND, 0, HELD)


def test_apply_reverts_on_a_forged_proof(s: BondStack, accounts: Accounts) -> None:
    """The round released alice's bond: nobody can forfeit it with the release's proof, or another leaf's."""
    alice, bob = accounts.alice, accounts.bob
    _fund(s, alice)
    _fund(s, bob)
    a = _register(s, alice, _content("fa"))
    b = _register(s, bob, _content("fb"))
    _, tree = _final_round(s, 1, None, {a: RELEASE, b: FORFEIT}, accounts)
    with reverts("ContributionBondsInvalidProof", 1, a, FORFEIT):
        _apply(s, 1, tree, {a: FORFEIT}, accounts.stranger, proof_of={a: RELEASE})
    with reverts("ContributionBondsInvalidProof", 1, a, FORFEIT):  # bob's forfeit proof for alice's id
        s.chain.transact(s.vault.functions.applyBondDecisions(
            s.model_id, 1, [(a, FORFEIT, _proof(tree, b, FORFEIT))]), accounts.stranger)
    with reverts("ContributionBondsInvalidProof", 1, a, 0):  # decision 0 is never a leaf
        s.chain.transact(s.vault.functions.applyBondDecisions(s.model_id, 1, [(a, 0, [])]), accounts.stranger)
    assert _bond(s, a) == (BOND, 0, HELD)


def test_apply_reverts_for_a_contribution_without_bond_or_of_another_model(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    cid = _register(s, alice, _content("x"))
    s.chain.transact(s.vault.functions.setBondPolicy(s.model_id, 0), accounts.owner)
    free = _register(s, alice, _content("y"))
    _, tree = _final_round(s, 1, None, {cid: RELEASE, free: RELEASE}, accounts)
    with reverts("ContributionBondsNoBond", free):
        _apply(s, 1, tree, {free: RELEASE}, accounts.stranger)
    with reverts("ContributionBondsRootNotFinal", s.model_id + 1, 1):
        s.chain.transact(s.vault.functions.applyBondDecisions(s.model_id + 1, 1, [(cid, RELEASE, [])]),
                         accounts.stranger)


def test_claim_bond_reverts_when_caller_is_not_its_contributor(s: BondStack, accounts: Accounts) -> None:
    alice, bob = accounts.alice, accounts.bob
    _fund(s, alice)
    cid = _register(s, alice, _content("mine"))
    _, tree = _final_round(s, 1, None, {cid: RELEASE}, accounts)
    _apply(s, 1, tree, {cid: RELEASE}, accounts.stranger)
    with reverts("ContributionBondsNotContributor", cid, bob.address):
        s.chain.transact(s.vault.functions.claimBond(cid), bob)
    with reverts("ContributionRegistryUnknownContribution", 999):
        s.chain.transact(s.vault.functions.claimBond(999), bob)
    assert _bond(s, cid) == (BOND, 0, RELEASED)


def test_claim_bond_reverts_while_held(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    cid = _register(s, alice, _content("h"))
    with reverts("ContributionBondsNotClaimable", cid, HELD, 0, 0):
        s.chain.transact(s.vault.functions.claimBond(cid), alice)


# ----------------------------------------------------------------------------- withdrawals


def test_a_withdrawn_bond_comes_back_after_the_round_after_the_next(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    cid = _register(s, alice, _content("w"))
    built, _ = _final_round(s, 1, None, None, accounts)  # round 1 did not value it
    receipt = s.chain.transact(s.registry.functions.withdrawContribution(cid), alice)
    assert event_args(s.vault, "BondRefundScheduled", receipt) == [{"contributionId": cid, "forfeitableUntilRound": 2}]
    with reverts("ContributionBondsNotClaimable", cid, HELD, 3, 1):
        s.chain.transact(s.vault.functions.claimBond(cid), alice)
    built, _ = _final_round(s, 2, built, None, accounts)
    with reverts("ContributionBondsNotClaimable", cid, HELD, 3, 2):  # round 2 may still forfeit it
        s.chain.transact(s.vault.functions.claimBond(cid), alice)
    _final_round(s, 3, built, None, accounts)
    before = _balance(s, alice.address)
    receipt = s.chain.transact(s.vault.functions.claimBond(cid), alice)
    assert event_args(s.vault, "BondClaimed", receipt) == [
        {"contributionId": cid, "contributor": alice.address, "amount": BOND, "refund": True}]
    assert _balance(s, alice.address) == before + BOND
    _assert_books(s, [cid])


def test_a_withdrawal_does_not_escape_the_next_rounds_forfeit(s: BondStack, accounts: Accounts) -> None:
    """Withdrawing while round 1 (which forfeits the bond) is pending does not save the bond."""
    bob = accounts.bob
    _fund(s, bob)
    cid = _register(s, bob, _content("dodge"))
    built, tree = _round(s, 1, None, {cid: FORFEIT}, accounts)
    submit(s.rounds, built, accounts.oracles[:2], accounts.deployer)
    s.chain.transact(s.registry.functions.withdrawContribution(cid), bob)
    publish(s.rounds, built, accounts.oracles[0])
    finalize(s.rounds, s.model_id, accounts.deployer)
    receipt = _apply(s, 1, tree, {cid: FORFEIT}, accounts.stranger)
    assert event_args(s.vault, "BondForfeited", receipt)[0]["amount"] == BOND
    _assert_books(s, [cid])


def test_a_late_forfeit_of_a_withdrawn_bond_reverts(s: BondStack, accounts: Accounts) -> None:
    """Once a round after the withdrawal's next round is final, the refund wins: no forfeit, from any round."""
    bob = accounts.bob
    _fund(s, bob)
    cid = _register(s, bob, _content("late"))
    s.chain.transact(s.registry.functions.withdrawContribution(cid), bob)  # forfeitable until round 1
    built, tree1 = _final_round(s, 1, None, {cid: FORFEIT}, accounts)
    built, tree2 = _final_round(s, 2, built, {cid: FORFEIT}, accounts)
    with reverts("ContributionBondsNotForfeitable", cid, 1, 1, 2):
        _apply(s, 1, tree1, {cid: FORFEIT}, accounts.stranger)
    with reverts("ContributionBondsNotForfeitable", cid, 2, 1, 2):
        _apply(s, 2, tree2, {cid: FORFEIT}, accounts.stranger)
    s.chain.transact(s.vault.functions.claimBond(cid), bob)
    _assert_books(s, [cid])


# ----------------------------------------------------------------------------- reentrancy


def test_claim_bond_cannot_be_reentered_through_the_payment_token(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    cid = _register(s, alice, _content("re"))
    _, tree = _final_round(s, 1, None, {cid: RELEASE}, accounts)
    _apply(s, 1, tree, {cid: RELEASE}, accounts.stranger)
    data = s.vault.functions.claimBond(cid)._encode_transaction_data()
    s.chain.transact(s.token.functions.arm(s.vault.address, data, True, True), accounts.stranger)
    with reverts("ReentrancyGuardReentrantCall"):
        s.chain.transact(s.vault.functions.claimBond(cid), alice)
    assert _bond(s, cid) == (BOND, 0, RELEASED)


def test_posting_cannot_reenter_the_vault_or_the_registry(s: BondStack, accounts: Accounts) -> None:
    """A token that calls back during the bond's transferFrom is refused by both guards (the token here records
    the refusal and goes on; one that bubbled it would fail the bond: ContributionBondsTransferFailed)."""
    alice = accounts.alice
    _fund(s, alice, amount=2 * BOND)
    guard = function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")
    for tag, target, data in (
        ("r1", s.vault.address, s.vault.functions.applyBondDecisions(s.model_id, 1, [])._encode_transaction_data()),
        ("r2", s.registry.address, s.registry.functions.withdrawContribution(1)._encode_transaction_data()),
    ):
        _commit(s, alice, _content(tag))
        s.chain.transact(s.token.functions.arm(target, data, True, False), accounts.stranger)
        s.chain.transact(s.registry.functions.registerContribution(
            s.model_id, DATA, _content(tag), "ipfs://c", b"\x01" * 32), alice)
        assert not s.token.functions.lastCallbackSucceeded().call()
        assert bytes(s.token.functions.lastCallbackError().call()) == guard
    _assert_books(s, [1, 2])
    assert [_bond(s, i) for i in (1, 2)] == [(BOND, 0, HELD)] * 2


def test_a_bubbling_reentrant_token_fails_the_bond(s: BondStack, accounts: Accounts) -> None:
    alice = accounts.alice
    _fund(s, alice)
    _commit(s, alice, _content("r3"))
    data = s.vault.functions.claimBond(1)._encode_transaction_data()
    s.chain.transact(s.token.functions.arm(s.vault.address, data, True, True), accounts.stranger)
    with reverts("ContributionBondsTransferFailed", alice.address, BOND):
        s.chain.transact(s.registry.functions.registerContribution(
            s.model_id, DATA, _content("r3"), "ipfs://c", b"\x01" * 32), alice)


# ----------------------------------------------------------------------------- other models and tokens


def _second_model(s: BondStack, accounts: Accounts, token: Any) -> int:
    receipt = s.chain.transact(s.registry.functions.registerModel(model_params(token.address, symbol="M2")),
                               accounts.owner)
    model_id = event_args(s.registry, "ModelRegistered", receipt)[0]["modelId"]
    s.chain.transact(s.vault.functions.setBondPolicy(model_id, BOND), accounts.owner)
    s.chain.w3.provider.ethereum_tester.mine_blocks(RAISE_DELAY)
    return model_id


def test_apply_reverts_for_a_contribution_of_another_model(s: BondStack, accounts: Accounts) -> None:
    """Model 1's final root cannot decide a bond posted in model 2, even if it lists that contribution id."""
    alice = accounts.alice
    other = _second_model(s, accounts, s.token)
    _fund(s, alice)
    _commit(s, alice, _content("m2"), model_id=other)
    receipt = s.chain.transact(
        s.registry.functions.registerContribution(other, DATA, _content("m2"), "ipfs://c", b"\x01" * 32), alice)
    cid = event_args(s.registry, "ContributionRegistered", receipt)[0]["contributionId"]
    _, tree = _final_round(s, 1, None, {cid: FORFEIT}, accounts)
    with reverts("ContributionBondsNotInModel", cid, s.model_id):
        _apply(s, 1, tree, {cid: FORFEIT}, accounts.stranger)
    assert _bond(s, cid) == (BOND, 0, HELD)


def test_register_contribution_reverts_when_the_token_delivers_less_than_the_bond(
    s: BondStack, accounts: Accounts
) -> None:
    """A fee-on-transfer payment token cannot post bonds: the vault would hold less than it owes."""
    alice = accounts.alice
    fee_token = deploy(s.chain, "FeeOnTransferPaymentToken", accounts.deployer, 100)  # 1% fee
    other = _second_model(s, accounts, fee_token)
    s.chain.transact(fee_token.functions.mint(alice.address, 10 * BOND), alice)
    s.chain.transact(fee_token.functions.approve(s.vault.address, 10 * BOND), alice)
    _commit(s, alice, _content("fee"), model_id=other)
    with reverts("ContributionBondsShortfall", BOND, BOND - BOND // 100):
        s.chain.transact(
            s.registry.functions.registerContribution(other, DATA, _content("fee"), "ipfs://c", b"\x01" * 32), alice)

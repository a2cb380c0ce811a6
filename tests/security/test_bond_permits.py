"""EIP-2612 permits for relayed bonded registrations (issue 23, item 1), attacked.

A contributor with no ETH signs its registration and a permit for its bond; a relayer sends both in one
transaction through the bond vault (`registerContributionForWithPermit`, `registerContributionsForWithPermits`).
The vault tries the permit and ignores its failure (OpenZeppelin's front-run-safe pattern), then the registry has
it take the bond as for any registration; the transfer decides.

Attacks, each a test: a permit signed for another spender, value or deadline (or tampered with by the relayer)
lets nobody take more than the bond; a permit someone submits first (front-running) does not fail the
registration; a replayed permit fails; a relayer cannot use alice's permit to post a bond for a registration she
did not sign (forged by the relayer, or bob's). A token without permits still works with a prior `approve`.
Every test runs on the session deployment (`openledger deploy`'s vault and the dev token, which has permits).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import ContractRevertError
from openledger_chain.permits import NO_PERMIT, BondPermit, permit_domain, sign_permit
from openledger_chain.types import ContributionKind, Model, SignedContribution

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import deploy, event_args, model_params, reverts  # noqa: E402
from _ledger_setup import Accounts  # noqa: E402

DATA = ContributionKind.DATA
BOND = 10 * 10**18
RAISE_DELAY = 257
FAR = 2**40  # a deadline that never passes in these tests


def _key(name: str) -> LocalAccount:
    """A contributor that holds no ETH: it can only sign."""
    return Account.from_key(keccak(text=f"bond permit test: {name}"))


@pytest.fixture
def bonded(ledger: OpenLedger, model: Model, accounts: Accounts) -> Model:
    """`model` with a bond of 10 oUSD in force."""
    ledger.set_bond_policy(accounts.owner, model.model_id, BOND)
    ledger.chain.w3.provider.ethereum_tester.mine_blocks(RAISE_DELAY)
    assert ledger.bond_amount(model.model_id) == BOND
    return model


def _token(ledger: OpenLedger):  # noqa: ANN202
    return ledger.erc20(ledger.dev_payment_token)


def _mint(ledger: OpenLedger, who: str, amount: int = 5 * BOND) -> None:
    ledger.chain.transact(_token(ledger).functions.mint(who, amount), _relayer())


def _relayer() -> LocalAccount:
    from openledger_chain.chain import dev_accounts

    return dev_accounts()[9]


def _signed(ledger: OpenLedger, who: LocalAccount, model_id: int, tag: str, *, nonce: int | None = None,
            signer: LocalAccount | None = None) -> SignedContribution:
    """`who`'s registration of content `tag`, committed by the relayer (in a block of its own), signed by `signer`
    (default: `who`)."""
    content, salt = keccak(text=tag), keccak(text=f"salt {tag}")
    ledger.commit(_relayer(), [ledger.commitment(model_id, who.address, DATA, content, salt)])
    if signer is None:
        return ledger.sign_registration(who, model_id, DATA, content, f"ipfs://{tag}", salt, deadline=FAR,
                                        nonce=nonce)
    entry = ledger.sign_registration(signer, model_id, DATA, content, f"ipfs://{tag}", salt, deadline=FAR,
                                     nonce=int(ledger.registry.functions.nonces(who.address).call()))
    return SignedContribution(who.address, DATA, content, entry.uri, salt, FAR, entry.signature)


def _permit(ledger: OpenLedger, who: LocalAccount, value: int = BOND, *, deadline: int = FAR,
            spender: str | None = None, nonce: int | None = None) -> BondPermit:
    domain = permit_domain(_token(ledger))
    assert domain is not None
    nonce = int(_token(ledger).functions.nonces(who.address).call()) if nonce is None else nonce
    return sign_permit(who, domain, spender or ledger.bond_vault().address, value, nonce, deadline)


def _relay(ledger: OpenLedger, model_id: int, entry: SignedContribution, permit: BondPermit):  # noqa: ANN202
    return ledger.chain.transact(ledger.bond_vault().functions.registerContributionForWithPermit(
        model_id, entry.as_tuple(), permit.as_tuple()), _relayer())


def _balance(ledger: OpenLedger, who: str) -> int:
    return int(_token(ledger).functions.balanceOf(who).call())


def _allowance(ledger: OpenLedger, who: str) -> int:
    return int(_token(ledger).functions.allowance(who, ledger.bond_vault().address).call())


# ----------------------------------------------------------------------------- what it is for


def test_a_contributor_without_eth_gets_a_bonded_registration_relayed_in_one_transaction(
        ledger: OpenLedger, bonded: Model) -> None:
    alice = _key("alice")
    _mint(ledger, alice.address)
    entry = _signed(ledger, alice, bonded.model_id, "alice data")
    permit = _permit(ledger, alice)
    before = _balance(ledger, alice.address)
    receipt = _relay(ledger, bonded.model_id, entry, permit)
    vault = ledger.bond_vault()
    (registered,) = event_args(ledger.registry, "ContributionRegistered", receipt)
    assert registered["contributor"] == alice.address
    assert event_args(vault, "BondPermitUsed", receipt) == [{
        "contributor": alice.address, "token": ledger.dev_payment_token, "value": BOND, "deadline": FAR,
        "accepted": True}]
    assert event_args(vault, "BondPosted", receipt) == [{
        "contributionId": registered["contributionId"], "modelId": bonded.model_id, "contributor": alice.address,
        "amount": BOND}]
    assert _balance(ledger, alice.address) == before - BOND
    assert _allowance(ledger, alice.address) == 0
    assert ledger.bond_of(registered["contributionId"]).status == "held"
    # Alice sent nothing and holds no ETH.
    w3 = ledger.chain.w3
    assert w3.eth.get_transaction_count(alice.address) == 0 and w3.eth.get_balance(alice.address) == 0


def test_a_relayed_batch_carries_each_contributors_permit(ledger: OpenLedger, bonded: Model,
                                                          accounts: Accounts) -> None:
    """Alice has two entries and one permit for both; carol signs one; bob approved the vault himself (no
    permit): one transaction registers all four and takes every bond."""
    alice, carol, bob = _key("alice"), _key("carol"), accounts.bob
    for who in (alice.address, carol.address, bob.address):
        _mint(ledger, who)
    ledger.chain.transact(_token(ledger).functions.approve(ledger.bond_vault().address, BOND), bob)
    a1 = _signed(ledger, alice, bonded.model_id, "a1")
    a2 = _signed(ledger, alice, bonded.model_id, "a2", nonce=a1_nonce_plus_one(ledger, alice))
    c1 = _signed(ledger, carol, bonded.model_id, "c1")
    b1 = _signed(ledger, bob, bonded.model_id, "b1")
    permits = [_permit(ledger, alice, 2 * BOND), NO_PERMIT, _permit(ledger, carol), NO_PERMIT]
    result = ledger.register_contributions_for(_relayer(), bonded.model_id, [a1, a2, c1, b1], permits=permits)
    assert len(result.receipts) == 1 and len(result.contribution_ids) == 4
    receipt = result.receipts[0]
    used = event_args(ledger.bond_vault(), "BondPermitUsed", receipt)
    assert [(u["contributor"], u["value"], u["accepted"]) for u in used] == [
        (alice.address, 2 * BOND, True), (carol.address, BOND, True)]
    posted = event_args(ledger.bond_vault(), "BondPosted", receipt)
    assert [p["contributor"] for p in posted] == [alice.address, alice.address, carol.address, bob.address]
    assert _balance(ledger, alice.address) == 3 * BOND and _balance(ledger, carol.address) == 4 * BOND
    assert _allowance(ledger, alice.address) == _allowance(ledger, carol.address) == _allowance(ledger, bob.address) == 0


def a1_nonce_plus_one(ledger: OpenLedger, who: LocalAccount) -> int:
    """The registry nonce of `who`'s second entry in one batch (its first signs the current one)."""
    return int(ledger.registry.functions.nonces(who.address).call()) + 1


def test_a_batch_reverts_when_permits_do_not_match_its_entries(ledger: OpenLedger, bonded: Model) -> None:
    alice = _key("alice")
    entry = _signed(ledger, alice, bonded.model_id, "a")
    with reverts("ContributionBondsPermitCountMismatch", 1, 2):
        ledger.chain.transact(ledger.bond_vault().functions.registerContributionsForWithPermits(
            bonded.model_id, [entry.as_tuple()], [NO_PERMIT.as_tuple()] * 2), _relayer())


def test_a_model_without_a_bond_policy_tries_no_permit(ledger: OpenLedger, model: Model) -> None:
    alice = _key("alice")
    entry = _signed(ledger, alice, model.model_id, "free")
    receipt = _relay(ledger, model.model_id, entry, _permit(ledger, alice))
    assert event_args(ledger.bond_vault(), "BondPermitUsed", receipt) == []
    assert len(event_args(ledger.registry, "ContributionRegistered", receipt)) == 1
    assert _allowance(ledger, alice.address) == 0  # the permit was not used


# ----------------------------------------------------------------------------- attacks


@pytest.mark.parametrize("forged", ["spender", "value", "deadline"])
def test_a_permit_for_another_spender_value_or_deadline_takes_nothing(ledger: OpenLedger, bonded: Model,
                                                                      forged: str) -> None:
    """Alice's permit names the relayer as spender, or the relayer raises the value or moves the deadline the
    signature covers: the permit fails, nothing is approved, and the registration fails on the bond's transfer."""
    alice = _key("alice")
    _mint(ledger, alice.address)
    entry = _signed(ledger, alice, bonded.model_id, "a")
    if forged == "spender":
        permit = _permit(ledger, alice, spender=_relayer().address)
    else:
        signed = _permit(ledger, alice)
        permit = BondPermit(100 * BOND if forged == "value" else signed.value,
                            signed.deadline - 1 if forged == "deadline" else signed.deadline, signed.v, signed.r,
                            signed.s)
    before = _balance(ledger, alice.address)
    with reverts("ContributionBondsTransferFailed", alice.address, BOND):
        _relay(ledger, bonded.model_id, entry, permit)
    assert _balance(ledger, alice.address) == before
    assert _allowance(ledger, alice.address) == 0
    assert int(_token(ledger).functions.allowance(alice.address, _relayer().address).call()) == 0


def test_a_generous_permit_still_takes_only_the_bond(ledger: OpenLedger, bonded: Model) -> None:
    """Alice permits 50 oUSD: the vault takes the 10 oUSD bond, the relayer gets nothing, and the rest of the
    allowance serves only registrations alice signs."""
    alice = _key("alice")
    _mint(ledger, alice.address)
    relayer_before = _balance(ledger, _relayer().address)
    receipt = _relay(ledger, bonded.model_id, _signed(ledger, alice, bonded.model_id, "a"),
                     _permit(ledger, alice, 5 * BOND))
    assert [p["amount"] for p in event_args(ledger.bond_vault(), "BondPosted", receipt)] == [BOND]
    assert _balance(ledger, alice.address) == 4 * BOND
    assert _balance(ledger, _relayer().address) == relayer_before
    assert _allowance(ledger, alice.address) == 4 * BOND


def test_an_expired_permit_fails_the_registration(ledger: OpenLedger, bonded: Model) -> None:
    alice = _key("alice")
    _mint(ledger, alice.address)
    entry = _signed(ledger, alice, bonded.model_id, "a")
    past = int(ledger.chain.w3.eth.get_block("latest")["timestamp"]) - 1
    with reverts("ContributionBondsTransferFailed", alice.address, BOND):
        _relay(ledger, bonded.model_id, entry, _permit(ledger, alice, deadline=past))


def test_a_front_run_permit_does_not_fail_the_registration(ledger: OpenLedger, bonded: Model,
                                                           accounts: Accounts) -> None:
    """Someone copies alice's permit out of the mempool and submits it to the token first: the vault's try fails
    (nonce used), the allowance it set is there, and the registration goes through."""
    alice = _key("alice")
    _mint(ledger, alice.address)
    entry = _signed(ledger, alice, bonded.model_id, "a")
    permit = _permit(ledger, alice)
    ledger.chain.transact(_token(ledger).functions.permit(
        alice.address, ledger.bond_vault().address, permit.value, permit.deadline, permit.v, permit.r, permit.s),
        accounts.stranger)
    receipt = _relay(ledger, bonded.model_id, entry, permit)
    assert [u["accepted"] for u in event_args(ledger.bond_vault(), "BondPermitUsed", receipt)] == [False]
    assert len(event_args(ledger.bond_vault(), "BondPosted", receipt)) == 1
    assert _balance(ledger, alice.address) == 4 * BOND


def test_a_replayed_permit_fails(ledger: OpenLedger, bonded: Model) -> None:
    """The relayer sends alice's used permit again with another registration she signed: the permit fails (its
    nonce is spent) and so does the bond's transfer; alice paid one bond."""
    alice = _key("alice")
    _mint(ledger, alice.address)
    permit = _permit(ledger, alice)
    _relay(ledger, bonded.model_id, _signed(ledger, alice, bonded.model_id, "first"), permit)
    second = _signed(ledger, alice, bonded.model_id, "second")
    with reverts("ContributionBondsTransferFailed", alice.address, BOND):
        _relay(ledger, bonded.model_id, second, permit)
    assert _balance(ledger, alice.address) == 4 * BOND


def test_a_permit_replayed_inside_one_batch_fails_its_second_entry(ledger: OpenLedger, bonded: Model) -> None:
    alice = _key("alice")
    _mint(ledger, alice.address)
    permit = _permit(ledger, alice)
    a1 = _signed(ledger, alice, bonded.model_id, "a1")
    a2 = _signed(ledger, alice, bonded.model_id, "a2", nonce=a1_nonce_plus_one(ledger, alice))
    # ContributionRegistryBatchEntryInvalid(1, ContributionBondsTransferFailed(alice, BOND)), decoded to the inner error.
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.bond_vault().functions.registerContributionsForWithPermits(
            bonded.model_id, [a1.as_tuple(), a2.as_tuple()], [permit.as_tuple(), permit.as_tuple()]), _relayer())
    assert (info.value.name, info.value.batch_index) == ("ContributionBondsTransferFailed", 1)
    assert tuple(info.value.error_args) == (alice.address.lower(), BOND)
    assert _balance(ledger, alice.address) == 5 * BOND


def test_a_relayer_cannot_use_alices_permit_for_a_registration_she_did_not_sign(ledger: OpenLedger,
                                                                                bonded: Model) -> None:
    """The relayer signs a registration in alice's name itself and attaches her valid permit: the registry refuses
    the signature, and the whole transaction (the permit with it) is undone."""
    alice = _key("alice")
    _mint(ledger, alice.address)
    forged = _signed(ledger, alice, bonded.model_id, "not alice's", signer=_relayer())
    permit = _permit(ledger, alice)
    with reverts("ContributionRegistryInvalidSignature", alice.address):
        _relay(ledger, bonded.model_id, forged, permit)
    assert _balance(ledger, alice.address) == 5 * BOND
    assert _allowance(ledger, alice.address) == 0
    assert int(_token(ledger).functions.nonces(alice.address).call()) == 0  # the permit is still unused


def test_alices_permit_does_not_pay_bobs_bond(ledger: OpenLedger, bonded: Model) -> None:
    """Bob signed his registration; the relayer attaches alice's permit to it: the vault applies a permit to the
    registration's own contributor only, so it fails for bob, and bob's bond is not taken from alice."""
    alice, bob = _key("alice"), _key("bob")
    _mint(ledger, alice.address)
    _mint(ledger, bob.address)
    entry = _signed(ledger, bob, bonded.model_id, "bob's")
    with reverts("ContributionBondsTransferFailed", bob.address, BOND):
        _relay(ledger, bonded.model_id, entry, _permit(ledger, alice))
    assert _balance(ledger, alice.address) == _balance(ledger, bob.address) == 5 * BOND


# ----------------------------------------------------------------------------- a token without permits


def test_a_token_without_permit_works_with_a_prior_approve(ledger: OpenLedger, accounts: Accounts) -> None:
    plain = deploy(ledger.chain, "BlacklistPaymentToken", accounts.deployer)  # a plain OpenZeppelin ERC-20
    assert permit_domain(plain) is None
    registered, _ = ledger.register_model(accounts.owner, _params(plain.address))
    model_id = registered.model_id
    ledger.set_bond_policy(accounts.owner, model_id, BOND)
    ledger.chain.w3.provider.ethereum_tester.mine_blocks(RAISE_DELAY)
    bob = accounts.bob
    ledger.chain.transact(plain.functions.mint(bob.address, 5 * BOND), bob)
    entry = _signed(ledger, bob, model_id, "plain")
    some_permit = BondPermit(BOND, FAR, 27, b"\x01" * 32, b"\x02" * 32)
    with reverts("ContributionBondsTransferFailed", bob.address, BOND):  # not approved: the permit cannot help
        _relay(ledger, model_id, entry, some_permit)
    ledger.chain.transact(plain.functions.approve(ledger.bond_vault().address, BOND), bob)
    receipt = _relay(ledger, model_id, entry, some_permit)
    assert [u["accepted"] for u in event_args(ledger.bond_vault(), "BondPermitUsed", receipt)] == [False]
    assert len(event_args(ledger.bond_vault(), "BondPosted", receipt)) == 1
    assert ledger.bond_permit_domain(model_id) is None


def test_the_dev_tokens_permit_domain_is_read_from_the_token(ledger: OpenLedger, bonded: Model) -> None:
    domain = ledger.bond_permit_domain(bonded.model_id)
    assert domain is not None
    assert (domain.name, domain.version, domain.chain_id, domain.token) == (
        "OpenLedger Dev USD", "1", ledger.chain.chain_id, ledger.dev_payment_token)


def _params(token: str):  # noqa: ANN202
    from openledger_chain.types import ModelParams

    return ModelParams(*model_params(token, symbol="PLN"))


# ----------------------------------------------------------------------------- the Python batch helper


def test_a_dropped_entrys_permit_moves_to_its_contributors_next_entry(ledger: OpenLedger, bonded: Model) -> None:
    """`register_contributions_for(permits=..., skip_invalid=True)`: alice's first entry is invalid (its commitment
    was never made) and carries her permit for both; it is left out and the permit goes with her second entry."""
    alice = _key("alice")
    _mint(ledger, alice.address)
    content, salt = keccak(text="never committed"), keccak(text="salt never committed")
    nonce = int(ledger.registry.functions.nonces(alice.address).call())
    broken = ledger.sign_registration(alice, bonded.model_id, DATA, content, "ipfs://x", salt, deadline=FAR,
                                      nonce=nonce)
    good = _signed(ledger, alice, bonded.model_id, "good", nonce=nonce)
    result = ledger.register_contributions_for(_relayer(), bonded.model_id, [broken, good], skip_invalid=True,
                                               permits=[_permit(ledger, alice, 2 * BOND), NO_PERMIT])
    assert [entry for entry, _ in result.skipped] == [broken]
    assert result.skipped[0][1].name == "ContributionRegistryNotCommitted"
    assert len(result.contribution_ids) == 1
    assert _balance(ledger, alice.address) == 4 * BOND and _allowance(ledger, alice.address) == BOND


def test_entries_already_registered_are_reported_through_the_vault_too(ledger: OpenLedger, bonded: Model) -> None:
    """An entry registered before its batch lands is skipped by the registry (`BatchEntrySkipped`); the helper
    reads it back from the vault's calldata."""
    alice, carol = _key("alice"), _key("carol")
    _mint(ledger, alice.address)
    _mint(ledger, carol.address)
    first = _signed(ledger, alice, bonded.model_id, "twice")
    _relay(ledger, bonded.model_id, first, _permit(ledger, alice))
    other = _signed(ledger, carol, bonded.model_id, "carol once")
    result = ledger.register_contributions_for(_relayer(), bonded.model_id, [first, other],
                                               permits=[NO_PERMIT, _permit(ledger, carol)])
    assert [entry for entry, _ in result.already_registered] == [first]
    assert len(result.contribution_ids) == 1
    assert ledger.get_contribution(result.contribution_ids[0]).contributor == carol.address

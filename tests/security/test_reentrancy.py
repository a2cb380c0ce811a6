"""Attacks on the registry's fee intake and the stake token's fee accounting.

- A payment token that calls back into `payUsage`, `withdrawFees` or `accrueFees` from the middle of a
  transfer (`ReentrantPaymentToken`): the reentrant call is rejected and no fee is counted twice.
- A payment token that charges a fee on transfer: holders are credited only what arrived.
- Stake minting and the stake minter are out of reach of the model owner and the registry admin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from eth_utils import function_signature_to_4byte_selector

from openledger_chain.errors import ContractRevertError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import (  # noqa: E402
    FEE_PRECISION,
    MAX_BPS,
    MAX_EMISSION,
    StakeSetup,
    at,
    event_args,
    revert_of,
    TEST_DEPLOYER,
    stake_setup,
)

E18 = 10**18
SHARE_BPS = 3_000
REENTRANT_CALL = function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")


@pytest.fixture
def evil(chain, accounts) -> StakeSetup:
    """A test registry and model paid in `ReentrantPaymentToken`."""
    return stake_setup(
        chain, accounts.deployer, accounts.owner, payment_token="ReentrantPaymentToken", share_bps=SHARE_BPS
    )


def _arm(setup: StakeSetup, target: str, data: str, *, before_move: bool, bubble: bool, sender) -> None:
    setup.chain.transact(setup.payment.functions.arm(target, data, before_move, bubble), sender)


def _holders_part(amount: int) -> int:
    return amount * SHARE_BPS // MAX_BPS


def _balance(setup: StakeSetup, account: str) -> int:
    return int(setup.payment.functions.balanceOf(account).call())


def _fees(setup: StakeSetup, account: str) -> int:
    return int(setup.stake.functions.feesOf(account).call())


# ----- payUsage


@pytest.mark.parametrize("before_move", [True, False])
def test_pay_usage_rejects_reentrant_pay_usage(evil: StakeSetup, accounts, before_move):
    token = evil.payment
    evil.start_fee_period(E18)
    evil.mint(accounts.alice.address, E18)
    evil.give_payment(accounts.payer, 1_000_000)
    # The token can itself pay (it holds funds and has approved the registry), so only the guard stops it.
    evil.chain.transact(token.functions.mint(token.address, 1_000_000), accounts.stranger)
    evil.chain.transact(token.functions.approveFromSelf(evil.registry.address, 2**256 - 1), accounts.stranger)
    inner = evil.registry.encode_abi("payUsage", [evil.model_id, 500_000])
    _arm(evil, evil.registry.address, inner, before_move=before_move, bubble=True, sender=accounts.stranger)

    with pytest.raises(ContractRevertError) as info:
        evil.pay(accounts.payer, 1_000_000)
    assert revert_of(info) == ("ReentrancyGuardReentrantCall", ())

    # Swallowing the failure instead: the outer payment goes through exactly once.
    _arm(evil, evil.registry.address, inner, before_move=before_move, bubble=False, sender=accounts.stranger)
    receipt = evil.pay(accounts.payer, 1_000_000)
    assert bytes(token.functions.lastCallbackError().call()) == REENTRANT_CALL
    assert token.functions.callbackCount().call() == 1
    assert len(event_args(evil.registry, "UsagePaid", receipt)) == 1
    assert _balance(evil, accounts.payer.address) == 0
    assert _balance(evil, token.address) == 1_000_000  # the attacker paid nothing
    owner_part = 1_000_000 - _holders_part(1_000_000)  # credited once, held by the registry
    assert evil.registry.functions.ownerFees(accounts.owner.address, token.address).call() == owner_part
    assert _balance(evil, evil.registry.address) == owner_part
    assert _balance(evil, evil.stake.address) == _holders_part(1_000_000)
    assert _fees(evil, accounts.alice.address) == _holders_part(1_000_000)  # the only holder


def test_pay_usage_counts_fees_once_when_token_accrues_during_payment(evil: StakeSetup, accounts):
    # Right after the holders' part arrives, the token calls accrueFees itself; the registry's own
    # accrueFees then finds nothing new. Accounting by balance delta makes the double call harmless.
    model_id, stake = evil.register_model(accounts.owner, share_bps=MAX_BPS, symbol="ALL")  # one transfer only
    evil.chain.transact(stake.functions.startFeePeriod(4 * E18), evil.minter)
    evil.chain.transact(stake.functions.mint(accounts.alice.address, 3 * E18, MAX_EMISSION), evil.minter)
    evil.chain.transact(stake.functions.mint(accounts.bob.address, E18, MAX_EMISSION), evil.minter)
    evil.give_payment(accounts.payer, 2_000_000)
    _arm(evil, stake.address, stake.encode_abi("accrueFees", []), before_move=False, bubble=True,
         sender=accounts.stranger)
    receipt = evil.chain.transact(evil.registry.functions.payUsage(model_id, 2_000_000), accounts.payer)
    assert evil.payment.functions.callbackCount().call() == 1
    assert evil.payment.functions.lastCallbackSucceeded().call()
    per_share = 2_000_000 * FEE_PRECISION // (4 * E18)
    assert event_args(stake, "FeesAccrued", receipt) == [{"amount": 2_000_000, "feePerShare": per_share}]
    assert stake.functions.feePerShare().call() == per_share
    fees = [stake.functions.feesOf(a.address).call() for a in (accounts.alice, accounts.bob)]
    assert fees == [1_500_000, 500_000]


# ----- withdrawFees / accrueFees


def test_withdraw_fees_rejects_reentrant_withdraw(evil: StakeSetup, accounts):
    """The attacker is the payment token itself holding stake: its transfer re-enters withdrawFees."""
    token = evil.payment
    evil.start_fee_period(2 * E18)
    evil.mint(token.address, E18)
    evil.mint(accounts.alice.address, E18)
    evil.give_payment(accounts.payer, 10**7)
    evil.pay(accounts.payer, 10**7)
    owed = _fees(evil, token.address)
    alice_owed = _fees(evil, accounts.alice.address)
    assert owed > 0
    withdraw = evil.stake.encode_abi("withdrawFees", [])

    _arm(evil, evil.stake.address, withdraw, before_move=True, bubble=True, sender=accounts.stranger)
    with pytest.raises(ContractRevertError) as info:
        evil.chain.transact(token.functions.execute(evil.stake.address, withdraw), accounts.stranger)
    assert revert_of(info) == ("ReentrancyGuardReentrantCall", ())

    _arm(evil, evil.stake.address, withdraw, before_move=True, bubble=False, sender=accounts.stranger)
    evil.chain.transact(token.functions.execute(evil.stake.address, withdraw), accounts.stranger)
    assert bytes(token.functions.lastCallbackError().call()) == REENTRANT_CALL
    assert _balance(evil, token.address) == owed  # paid once
    assert _fees(evil, token.address) == 0
    assert _fees(evil, accounts.alice.address) == alice_owed
    assert _balance(evil, evil.stake.address) >= alice_owed  # alice can still be paid
    evil.chain.transact(evil.stake.functions.withdrawFees(), accounts.alice)
    assert _balance(evil, accounts.alice.address) == alice_owed


@pytest.mark.parametrize("bubble", [True, False])
def test_withdraw_fees_rejects_reentrant_accrue_before_balance_moves(evil: StakeSetup, accounts, bubble):
    """Mid-withdrawal the books are already reduced but the tokens have not left yet: an accrual there
    would credit the withdrawn amount a second time as new fees. The guard rejects it."""
    alice, bob = accounts.alice, accounts.bob
    evil.start_fee_period(2 * E18)
    evil.mint(alice.address, E18)
    evil.mint(bob.address, E18)
    evil.give_payment(accounts.payer, 10**7)
    evil.pay(accounts.payer, 10**7)
    per_share = evil.stake.functions.feePerShare().call()
    alice_owed, bob_owed = _fees(evil, alice.address), _fees(evil, bob.address)
    _arm(evil, evil.stake.address, evil.stake.encode_abi("accrueFees", []), before_move=True, bubble=bubble,
         sender=accounts.stranger)

    if bubble:
        with pytest.raises(ContractRevertError) as info:
            evil.chain.transact(evil.stake.functions.withdrawFees(), alice)
        assert revert_of(info) == ("ReentrancyGuardReentrantCall", ())
        assert _fees(evil, alice.address) == alice_owed
        return
    receipt = evil.chain.transact(evil.stake.functions.withdrawFees(), alice)
    assert bytes(evil.payment.functions.lastCallbackError().call()) == REENTRANT_CALL
    assert event_args(evil.stake, "FeesAccrued", receipt) == []
    assert evil.stake.functions.feePerShare().call() == per_share  # nothing credited twice
    assert _balance(evil, alice.address) == alice_owed
    assert _fees(evil, bob.address) == bob_owed
    assert evil.stake.functions.accrueFees().call() == 0
    # Still solvent: what is left covers everything still owed.
    assert _balance(evil, evil.stake.address) >= bob_owed
    evil.chain.transact(evil.stake.functions.withdrawFees(), bob)
    assert _balance(evil, bob.address) == bob_owed


# ----- fee-on-transfer payment token


def test_fee_on_transfer_token_credits_holders_only_what_arrived(chain, accounts):
    fee_bps = 100  # 1% of every transfer is burnt
    setup = stake_setup(chain, accounts.deployer, accounts.owner, payment_token="FeeOnTransferPaymentToken",
                        payment_args=(fee_bps,), share_bps=SHARE_BPS)
    alice, bob = accounts.alice, accounts.bob
    setup.start_fee_period(4 * E18)
    setup.mint(alice.address, 3 * E18)
    setup.mint(bob.address, E18)
    setup.give_payment(accounts.payer, 10**9)
    amount = 10**9
    receipt = setup.pay(accounts.payer, amount)
    holders = _holders_part(amount)
    owner_part = amount - holders
    arrived = holders - holders * fee_bps // MAX_BPS
    (paid,) = event_args(setup.registry, "UsagePaid", receipt)
    assert (paid["ownerAmount"], paid["holdersAmount"]) == (owner_part, holders)  # what was sent
    assert event_args(setup.stake, "FeesAccrued", receipt) == [
        {"amount": arrived, "feePerShare": arrived * FEE_PRECISION // (4 * E18)}
    ]
    # The owner is credited what reached the registry, so the registry always holds every credit.
    owner_arrived = owner_part - owner_part * fee_bps // MAX_BPS
    assert event_args(setup.registry, "OwnerFeesCredited", receipt)[0]["amount"] == owner_arrived
    assert setup.registry.functions.ownerFees(accounts.owner.address, setup.payment.address).call() == owner_arrived
    assert _balance(setup, setup.registry.address) == owner_arrived
    alice_owed, bob_owed = _fees(setup, alice.address), _fees(setup, bob.address)
    assert 0 <= arrived - (alice_owed + bob_owed) <= 2
    assert alice_owed == 3 * E18 * (arrived * FEE_PRECISION // (4 * E18)) // FEE_PRECISION

    # Withdrawals pay the token's fee on the way out too, but the books stay solvent for everyone.
    for who, owed in ((alice, alice_owed), (bob, bob_owed)):
        before = _balance(setup, who.address)
        setup.chain.transact(setup.stake.functions.withdrawFees(), who)
        assert _balance(setup, who.address) - before == owed - owed * fee_bps // MAX_BPS
    assert _balance(setup, setup.stake.address) == arrived - alice_owed - bob_owed
    assert setup.stake.functions.accrueFees().call() == 0


# ----- who may mint stake


def test_model_owner_cannot_mint_stake(ledger, accounts, model):
    stake = ledger.stake_token(model.model_id)
    assert stake.functions.minter().call() == ledger.distributor.address
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(stake.functions.mint(accounts.owner.address, 1, MAX_EMISSION), accounts.owner)
    assert revert_of(info) == ("ModelStakeTokenUnauthorizedMinter", (accounts.owner.address,))


def test_registry_cannot_be_made_to_mint_by_its_admin(ledger, accounts, model):
    stake = ledger.stake_token(model.model_id)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(stake.functions.mint(accounts.deployer.address, 1, MAX_EMISSION), accounts.deployer)
    assert revert_of(info) == ("ModelStakeTokenUnauthorizedMinter", (accounts.deployer.address,))


def test_registry_admin_cannot_change_stake_minter(ledger, accounts):
    """Even a registry admin that kept its role (the deployed one renounced it) cannot re-point minting."""
    stake = stake_setup(ledger.chain, TEST_DEPLOYER, accounts.owner)
    registry, minter = stake.registry, stake.minter.address
    admin_role = registry.functions.DEFAULT_ADMIN_ROLE().call()
    # Not the admin, nor a second admin it appoints.
    stake.chain.transact(registry.functions.grantRole(admin_role, accounts.stranger.address), TEST_DEPLOYER)
    for admin in (TEST_DEPLOYER, accounts.stranger):
        with pytest.raises(ContractRevertError) as info:
            stake.chain.transact(registry.functions.setStakeMinter(admin.address), admin)
        assert revert_of(info) == ("ContributionRegistryStakeMinterAlreadySet", (minter,))
    assert registry.functions.stakeMinter().call() == minter
    # Models registered afterwards still get the same minter.
    _, token = stake.register_model(accounts.stranger)
    assert token.functions.minter().call() == minter


def _params(ledger):
    from openledger_chain.types import ModelParams

    return ModelParams(b"\x01" * 32, "ipfs://m", ledger.dev_payment_token or "", 5_000, 10, 100, "S", "S")

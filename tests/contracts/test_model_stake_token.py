"""ModelStakeToken on the embedded chain: minting, ERC-20 + permit, and the fee accumulator checked
against an independent Python model (exact integers) and against exact rational pro-rata shares."""

from __future__ import annotations

from fractions import Fraction

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak

from openledger_chain.errors import ContractRevertError

from _helpers import (  # noqa: F401 - stake_base is a fixture used through `stake`
    FEE_PRECISION,
    MAX_BPS,
    MAX_EMISSION,
    ZERO_ADDRESS,
    FeeModel,
    StakeSetup,
    event_args,
    revert_of,
    stake,
    stake_base,
)

E18 = 10**18


def _fees(setup: StakeSetup, account: str) -> int:
    return int(setup.stake.functions.feesOf(account).call())


def _payment_balance(setup: StakeSetup, account: str) -> int:
    return int(setup.payment.functions.balanceOf(account).call())


def _holders_part(amount: int, share_bps: int = 3_000) -> int:
    return amount * share_bps // MAX_BPS


# ----- views and mint


def test_views_describe_the_model(stake: StakeSetup):
    token = stake.stake.functions
    assert token.modelId().call() == stake.model_id
    assert token.paymentToken().call() == stake.payment.address
    assert token.minter().call() == stake.minter.address
    assert token.decimals().call() == 18
    assert (token.totalSupply().call(), token.feePerShare().call(), token.heldFees().call()) == (0, 0, 0)
    assert token.FEE_PRECISION().call() == FEE_PRECISION


def test_mint_credits_balance_and_emits_transfer(stake: StakeSetup, accounts):
    receipt = stake.mint(accounts.alice.address, 5 * E18)
    assert event_args(stake.stake, "Transfer", receipt) == [
        {"from": ZERO_ADDRESS, "to": accounts.alice.address, "value": 5 * E18}
    ]
    assert stake.stake.functions.balanceOf(accounts.alice.address).call() == 5 * E18
    assert stake.stake.functions.totalSupply().call() == 5 * E18


def test_mint_reverts_when_caller_is_not_minter(stake: StakeSetup, accounts):
    # Neither a stranger, nor the model owner, nor the registry's admin can mint stake.
    for caller in (accounts.stranger, accounts.owner, accounts.deployer, accounts.alice):
        with pytest.raises(ContractRevertError) as info:
            stake.chain.transact(stake.stake.functions.mint(caller.address, 1, MAX_EMISSION), caller)
        assert revert_of(info) == ("ModelStakeTokenUnauthorizedMinter", (caller.address,))
    assert stake.stake.functions.totalSupply().call() == 0


def test_mint_reverts_when_supply_cap_exceeded(stake: StakeSetup, accounts):
    stake.mint(accounts.alice.address, 10, max_supply=15)
    stake.mint(accounts.bob.address, 5, max_supply=15)  # exactly at the cap
    with pytest.raises(ContractRevertError) as info:
        stake.mint(accounts.bob.address, 1, max_supply=15)
    assert revert_of(info) == ("ModelStakeTokenSupplyCapExceeded", (16, 15))
    with pytest.raises(ContractRevertError) as info:
        stake.mint(accounts.carol.address, 1, max_supply=14)  # a cap already below the supply
    assert revert_of(info) == ("ModelStakeTokenSupplyCapExceeded", (16, 14))
    assert stake.stake.functions.totalSupply().call() == 15


# ----- ERC-20


def test_transfer_moves_balance_and_emits(stake: StakeSetup, accounts):
    stake.mint(accounts.alice.address, 10)
    receipt = stake.chain.transact(stake.stake.functions.transfer(accounts.bob.address, 4), accounts.alice)
    assert event_args(stake.stake, "Transfer", receipt) == [
        {"from": accounts.alice.address, "to": accounts.bob.address, "value": 4}
    ]
    balances = [stake.stake.functions.balanceOf(a.address).call() for a in (accounts.alice, accounts.bob)]
    assert balances == [6, 4]


def test_transfer_reverts_when_balance_insufficient(stake: StakeSetup, accounts):
    stake.mint(accounts.alice.address, 10)
    with pytest.raises(ContractRevertError) as info:
        stake.chain.transact(stake.stake.functions.transfer(accounts.bob.address, 11), accounts.alice)
    assert revert_of(info) == ("ERC20InsufficientBalance", (accounts.alice.address, 10, 11))


def test_transfer_reverts_when_receiver_is_zero(stake: StakeSetup, accounts):
    stake.mint(accounts.alice.address, 10)
    with pytest.raises(ContractRevertError) as info:
        stake.chain.transact(stake.stake.functions.transfer(ZERO_ADDRESS, 1), accounts.alice)
    assert revert_of(info) == ("ERC20InvalidReceiver", (ZERO_ADDRESS,))


def test_transfer_from_spends_allowance(stake: StakeSetup, accounts):
    token = stake.stake.functions
    stake.mint(accounts.alice.address, 10)
    receipt = stake.chain.transact(token.approve(accounts.bob.address, 7), accounts.alice)
    assert event_args(stake.stake, "Approval", receipt) == [
        {"owner": accounts.alice.address, "spender": accounts.bob.address, "value": 7}
    ]
    stake.chain.transact(token.transferFrom(accounts.alice.address, accounts.carol.address, 5), accounts.bob)
    assert token.allowance(accounts.alice.address, accounts.bob.address).call() == 2
    assert token.balanceOf(accounts.carol.address).call() == 5
    with pytest.raises(ContractRevertError) as info:
        stake.chain.transact(token.transferFrom(accounts.alice.address, accounts.carol.address, 3), accounts.bob)
    assert revert_of(info) == ("ERC20InsufficientAllowance", (accounts.bob.address, 2, 3))


def _permit_signature(setup: StakeSetup, owner, spender: str, value: int, nonce: int, deadline: int) -> bytes:
    message = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"},
                {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"},
                {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {
            "name": setup.stake.functions.name().call(),
            "version": "1",
            "chainId": setup.chain.chain_id,
            "verifyingContract": setup.stake.address,
        },
        "message": {"owner": owner.address, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }
    return bytes(Account.sign_typed_data(owner.key, full_message=message).signature)


def _split(signature: bytes) -> tuple[int, bytes, bytes]:
    return signature[64], signature[:32], signature[32:64]


def test_permit_sets_allowance_then_transfer_from(stake: StakeSetup, accounts):
    token = stake.stake.functions
    alice, bob = accounts.alice, accounts.bob
    stake.mint(alice.address, 100)
    deadline = stake.chain.w3.eth.get_block("latest")["timestamp"] + 3600
    signature = _permit_signature(stake, alice, bob.address, 60, 0, deadline)
    v, r, s = _split(signature)
    # A relayer submits the permit: Alice sends no transaction at all.
    nonce_before = stake.chain.w3.eth.get_transaction_count(alice.address)
    stake.chain.transact(token.permit(alice.address, bob.address, 60, deadline, v, r, s), accounts.stranger)
    assert token.allowance(alice.address, bob.address).call() == 60
    assert token.nonces(alice.address).call() == 1
    stake.chain.transact(token.transferFrom(alice.address, accounts.carol.address, 60), bob)
    assert token.balanceOf(accounts.carol.address).call() == 60
    assert stake.chain.w3.eth.get_transaction_count(alice.address) == nonce_before
    # The same permit cannot be replayed: the nonce moved, so it recovers to someone else.
    with pytest.raises(ContractRevertError) as info:
        stake.chain.transact(token.permit(alice.address, bob.address, 60, deadline, v, r, s), accounts.stranger)
    name, args = revert_of(info)
    assert name == "ERC2612InvalidSigner" and args[1] == alice.address and args[0] != alice.address


def test_permit_reverts_when_expired(stake: StakeSetup, accounts):
    deadline = stake.chain.w3.eth.get_block("latest")["timestamp"] - 1
    v, r, s = _split(_permit_signature(stake, accounts.alice, accounts.bob.address, 1, 0, deadline))
    with pytest.raises(ContractRevertError) as info:
        stake.chain.transact(
            stake.stake.functions.permit(accounts.alice.address, accounts.bob.address, 1, deadline, v, r, s),
            accounts.stranger,
        )
    assert revert_of(info) == ("ERC2612ExpiredSignature", (deadline,))


def test_permit_domain_separator_matches_independent_computation(stake: StakeSetup):
    type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    expected = keccak(abi_encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [type_hash, keccak(text=stake.stake.functions.name().call()), keccak(text="1"), stake.chain.chain_id,
         stake.stake.address],
    ))
    assert stake.stake.functions.DOMAIN_SEPARATOR().call() == expected


# ----- fees: held, accrued, withdrawn


def test_fees_paid_at_zero_supply_are_held_then_go_to_first_holder(stake: StakeSetup, accounts):
    stake.give_payment(accounts.payer, 10**9)
    receipts = [stake.pay(accounts.payer, amount) for amount in (1_001, 50_000)]
    held = _holders_part(1_001) + _holders_part(50_000)
    assert stake.stake.functions.heldFees().call() == held
    assert event_args(stake.stake, "FeesHeld", receipts[1]) == [{"amount": _holders_part(50_000), "heldTotal": held}]
    assert stake.stake.functions.feePerShare().call() == 0

    first_amount = 3 * E18 + 7
    receipt = stake.mint(accounts.alice.address, first_amount)
    per_share = held * FEE_PRECISION // first_amount
    assert event_args(stake.stake, "FeesAccrued", receipt) == [{"amount": held, "feePerShare": per_share}]
    assert stake.stake.functions.heldFees().call() == 0
    assert _fees(stake, accounts.alice.address) == first_amount * per_share // FEE_PRECISION
    assert held - _fees(stake, accounts.alice.address) <= 1  # rounded down by at most one wei

    stake.mint(accounts.bob.address, 5 * E18)  # later holders get none of the held fees
    assert _fees(stake, accounts.bob.address) == 0
    assert stake.stake.functions.heldFees().call() == 0


def test_mint_of_zero_keeps_fees_held(stake: StakeSetup, accounts):
    stake.give_payment(accounts.payer, 10_000)
    stake.pay(accounts.payer, 10_000)
    stake.mint(accounts.alice.address, 0)  # not a first holder: there is still no stake
    assert stake.stake.functions.heldFees().call() == _holders_part(10_000)
    stake.mint(accounts.bob.address, 4)
    assert stake.stake.functions.heldFees().call() == 0
    assert _fees(stake, accounts.bob.address) == _holders_part(10_000)
    assert _fees(stake, accounts.alice.address) == 0


def test_withdraw_fees_reverts_when_no_fees(stake: StakeSetup, accounts):
    stake.mint(accounts.alice.address, E18)
    for who in (accounts.alice, accounts.stranger):  # a holder before any payment, and a non-holder
        with pytest.raises(ContractRevertError) as info:
            stake.chain.transact(stake.stake.functions.withdrawFees(), who)
        assert revert_of(info) == ("ModelStakeTokenNoFees", (who.address,))


def test_withdraw_fees_pays_holder_and_emits(stake: StakeSetup, accounts):
    stake.mint(accounts.alice.address, 2 * E18)
    stake.mint(accounts.bob.address, 1 * E18)
    stake.give_payment(accounts.payer, 1_000_000)
    stake.pay(accounts.payer, 1_000_000)
    owed = _fees(stake, accounts.alice.address)
    assert owed == 2 * E18 * (_holders_part(1_000_000) * FEE_PRECISION // (3 * E18)) // FEE_PRECISION
    before = _payment_balance(stake, accounts.alice.address)
    function = stake.stake.functions.withdrawFees()
    assert function.call({"from": accounts.alice.address}) == owed
    receipt = stake.chain.transact(function, accounts.alice)
    assert event_args(stake.stake, "FeesWithdrawn", receipt) == [{"account": accounts.alice.address, "amount": owed}]
    assert event_args(stake.payment, "Transfer", receipt) == [
        {"from": stake.stake.address, "to": accounts.alice.address, "value": owed}
    ]
    assert _payment_balance(stake, accounts.alice.address) - before == owed
    assert _fees(stake, accounts.alice.address) == 0
    assert _fees(stake, accounts.bob.address) > 0  # untouched
    with pytest.raises(ContractRevertError) as info:
        stake.chain.transact(function, accounts.alice)
    assert revert_of(info) == ("ModelStakeTokenNoFees", (accounts.alice.address,))


def test_accrue_fees_by_anyone_credits_direct_transfer(stake: StakeSetup, accounts):
    stake.mint(accounts.alice.address, 1 * E18)
    stake.mint(accounts.bob.address, 3 * E18)
    stake.chain.transact(stake.payment.functions.mint(accounts.payer.address, 4_000_003), accounts.payer)
    stake.chain.transact(stake.payment.functions.transfer(stake.stake.address, 4_000_003), accounts.payer)
    assert _fees(stake, accounts.alice.address) == 0  # not yet accrued
    function = stake.stake.functions.accrueFees()
    assert function.call({"from": accounts.stranger.address}) == 4_000_003
    receipt = stake.chain.transact(function, accounts.stranger)
    per_share = 4_000_003 * FEE_PRECISION // (4 * E18)
    assert event_args(stake.stake, "FeesAccrued", receipt) == [{"amount": 4_000_003, "feePerShare": per_share}]
    assert _fees(stake, accounts.alice.address) == 1 * E18 * per_share // FEE_PRECISION
    assert _fees(stake, accounts.bob.address) == 3 * E18 * per_share // FEE_PRECISION
    # Nothing new: a second accrual credits nothing and emits nothing.
    assert function.call({"from": accounts.stranger.address}) == 0
    receipt = stake.chain.transact(function, accounts.stranger)
    assert event_args(stake.stake, "FeesAccrued", receipt) == []
    assert stake.stake.functions.feePerShare().call() == per_share


def test_accrue_fees_holds_direct_transfer_at_zero_supply(stake: StakeSetup, accounts):
    stake.chain.transact(stake.payment.functions.mint(stake.stake.address, 777), accounts.payer)
    receipt = stake.chain.transact(stake.stake.functions.accrueFees(), accounts.stranger)
    assert event_args(stake.stake, "FeesHeld", receipt) == [{"amount": 777, "heldTotal": 777}]
    stake.mint(accounts.carol.address, 10)
    assert _fees(stake, accounts.carol.address) == 777


def test_fees_are_kept_after_transferring_out_all_stake(stake: StakeSetup, accounts):
    alice, bob = accounts.alice, accounts.bob
    stake.mint(alice.address, 4 * E18)
    stake.give_payment(accounts.payer, 10**12)
    stake.pay(accounts.payer, 1_000_000)
    earned = _fees(stake, alice.address)
    assert earned == _holders_part(1_000_000)  # the only holder, 4e18 divides evenly
    stake.chain.transact(stake.stake.functions.transfer(bob.address, 4 * E18), alice)
    assert stake.stake.functions.balanceOf(alice.address).call() == 0
    assert _fees(stake, alice.address) == earned
    assert _fees(stake, bob.address) == 0  # the buyer does not get past fees
    stake.pay(accounts.payer, 2_000_000)
    assert _fees(stake, alice.address) == earned  # nor does the seller get new ones
    assert _fees(stake, bob.address) == _holders_part(2_000_000)
    amount = stake.stake.functions.withdrawFees().call({"from": alice.address})
    stake.chain.transact(stake.stake.functions.withdrawFees(), alice)
    assert amount == earned


def test_self_transfer_changes_no_fees(stake: StakeSetup, accounts):
    stake.mint(accounts.alice.address, 3 * E18)
    stake.mint(accounts.bob.address, 1 * E18)
    stake.give_payment(accounts.payer, 10**12)
    stake.pay(accounts.payer, 999_999)
    before = [_fees(stake, a.address) for a in (accounts.alice, accounts.bob)]
    stake.chain.transact(stake.stake.functions.transfer(accounts.alice.address, E18), accounts.alice)
    assert [_fees(stake, a.address) for a in (accounts.alice, accounts.bob)] == before
    assert stake.stake.functions.balanceOf(accounts.alice.address).call() == 3 * E18


def test_fees_pro_rata_with_transfers_match_model_and_conserve_to_the_wei(stake: StakeSetup, accounts):
    """Mints, odd-sized payments, transfers and withdrawals interleaved; after every step each
    holder's `feesOf` equals the independent model's, and the books balance to the wei."""
    alice, bob, carol = accounts.alice, accounts.bob, accounts.carol
    holders = [alice, bob, carol]
    model = FeeModel()
    ideal = {h.address: Fraction(0) for h in holders}  # exact pro-rata shares, no rounding at all
    payer, owner = accounts.payer, accounts.owner
    stake.give_payment(payer, 10**30)
    owner_start = _payment_balance(stake, owner.address)
    paid_total = withdrawn_total = 0

    def pay(amount: int) -> None:
        nonlocal paid_total
        stake.pay(payer, amount)
        paid_total += amount
        part = _holders_part(amount)
        if model.supply:
            for h in holders:
                ideal[h.address] += Fraction(part * model.balances.get(h.address, 0), model.supply)
        else:
            pending_first_mint.append(part)
        model.pay_holders(part)

    pending_first_mint: list[int] = []

    def mint(who, amount: int) -> None:
        if model.supply == 0:  # held fees go to the first holder
            ideal[who.address] += sum(pending_first_mint)
            pending_first_mint.clear()
        stake.mint(who.address, amount)
        model.mint(who.address, amount)

    def transfer(sender, to, amount: int) -> None:
        stake.chain.transact(stake.stake.functions.transfer(to.address, amount), sender)
        model.transfer(sender.address, to.address, amount)

    def withdraw(who) -> None:
        nonlocal withdrawn_total
        before = _payment_balance(stake, who.address)
        stake.chain.transact(stake.stake.functions.withdrawFees(), who)
        got = _payment_balance(stake, who.address) - before
        assert got == model.withdraw(who.address)
        withdrawn_total += got
        ideal[who.address] -= got

    def check() -> None:
        fees = {h.address: _fees(stake, h.address) for h in holders}
        assert fees == {h.address: model.fees_of(h.address) for h in holders}
        assert stake.stake.functions.heldFees().call() == model.held
        assert stake.stake.functions.feePerShare().call() == model.per_share
        owner_received = _payment_balance(stake, owner.address) - owner_start
        dust = paid_total - owner_received - sum(fees.values()) - withdrawn_total - model.held
        assert dust == _payment_balance(stake, stake.stake.address) - sum(fees.values()) - model.held
        # Rounding only ever goes against the holders: < 1 wei per settlement of a balance, < 1 wei per
        # holder for the final floor in feesOf, plus the accumulator's own truncation (< supply / 1e36).
        assert 0 <= dust <= model.settlements + len(holders)
        for h in holders:
            assert fees[h.address] <= ideal[h.address] <= fees[h.address] + model.settlements + 1

    pay(123_457)  # held: no stake yet
    mint(alice, 3 * E18 + 1)
    check()
    pay(1_000_003)
    mint(bob, 2 * E18 + 3)
    pay(777_777)
    check()
    transfer(alice, carol, E18 + 11)
    pay(5)
    pay(999_999_937)
    check()
    transfer(bob, alice, 2 * E18 + 3)  # bob leaves entirely
    withdraw(alice)
    pay(31_337)
    transfer(carol, bob, 17)
    mint(carol, 7 * E18)
    pay(10**18 + 1)
    check()
    withdraw(bob)
    withdraw(carol)
    pay(3)
    check()
    assert model.settlements > 0 and paid_total > 0


def test_pay_usage_gas_is_independent_of_holder_count(stake: StakeSetup, accounts):
    """O(1) payment: the same payment costs the same gas with 1 holder and with 50."""
    few_id, few = stake.model_id, stake.stake
    many_id, many = stake.register_model(accounts.owner, share_bps=3_000, symbol="MANY")
    stake.mint(accounts.alice.address, E18)
    for i in range(50):
        address = Account.from_key(keccak(text=f"holder-{i}")).address  # holders never sign
        stake.chain.transact(many.functions.mint(address, E18 + i, MAX_EMISSION), stake.minter)
    assert many.functions.totalSupply().call() == 50 * E18 + sum(range(50))
    stake.give_payment(accounts.payer, 10**24)
    gas = {}
    for model_id in (few_id, many_id):  # one warm-up payment each, so both measure steady state
        stake.chain.transact(stake.registry.functions.payUsage(model_id, 10**18), accounts.payer)
        receipt = stake.chain.transact(stake.registry.functions.payUsage(model_id, 10**18 + 1), accounts.payer)
        gas[model_id] = receipt["gasUsed"]
    assert few.functions.feesOf(accounts.alice.address).call() > 0
    assert abs(gas[few_id] - gas[many_id]) <= 200, gas

"""Audit L-1, L-4 and I-2 on the stake token, through the real registry and distributor.

L-1: sending ~1.2e41 base units of the payment token to a stake token overflowed `amount * 1e36`:
before the first final round it blocked finalizing (and, after the window, the veto too); later it
blocked every `payUsage`. Now intake is bounded, so no balance can brick a model.
L-4: `withdrawFees` was all or nothing; after the payment token shrank the contract's balance the
last holders could withdraw nothing. Now they get what is there and the rest stays owed.
I-2: stake sent to the token itself could never withdraw its fees; such transfers now revert.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from openledger_chain.errors import ContractRevertError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import event_args, revert_of, set_erc20_balance  # noqa: E402
from _ledger_setup import CONTRIBUTOR_SHARE_BPS, EMISSION_PER_ROUND  # noqa: E402
from _round_helpers import build_round, claim, end_challenge_window, publish, run_round, submit  # noqa: E402

HUGE = [10**42, 2**255]  # just past the old overflow, and half of all uint256


def _gift(ledger, sender, to, amount):
    token = ledger.erc20(ledger.dev_payment_token)
    ledger.chain.transact(token.functions.mint(sender.address, amount), sender)
    ledger.chain.transact(token.functions.transfer(to, amount), sender)


def _pay(ledger, payer, model_id, amount):
    token = ledger.erc20(ledger.dev_payment_token)
    ledger.chain.transact(token.functions.mint(payer.address, amount), payer)
    ledger.chain.transact(token.functions.approve(ledger.registry.address, amount), payer)
    return ledger.chain.transact(ledger.registry.functions.payUsage(model_id, amount), payer)


def _round(model, accounts, round_id=1, previous=None):
    half = EMISSION_PER_ROUND // 2
    return build_round(model.model_id, round_id, {accounts.alice.address: half, accounts.bob.address: half},
                       previous=previous)


@pytest.mark.parametrize("gift", HUGE)
def test_huge_gift_before_the_first_round_blocks_neither_finality_nor_veto(ledger, accounts, model, gift):
    stake_token = ledger.stake_token(model.model_id)
    _gift(ledger, accounts.stranger, stake_token.address, gift)
    _pay(ledger, accounts.payer, model.model_id, 10**18)  # accrues the gift: held for the first round
    # A round vetoed after its window (the list never published) and one finalized: neither reverts.
    vetoed = _round(model, accounts)
    submit(ledger, vetoed, accounts.oracles[:2], accounts.payer)
    end_challenge_window(ledger, model.model_id)
    ledger.chain.transact(ledger.distributor.functions.vetoRound(model.model_id), accounts.deployer)
    honest = _round(model, accounts).with_round(method_hash=b"\x01" * 32)
    run_round(ledger, honest, accounts.oracles[:2], accounts.payer)
    claim(ledger, honest, accounts.alice.address, accounts.alice)
    # Fees keep flowing, and what holders are owed never exceeds what the contract holds.
    _pay(ledger, accounts.payer, model.model_id, 10**18)
    owed = sum(stake_token.functions.feesOf(a.address).call() for a in (accounts.alice, accounts.bob))
    held = ledger.erc20(ledger.dev_payment_token).functions.balanceOf(stake_token.address).call()
    assert 0 < owed <= held
    assert stake_token.functions.feesOf(accounts.alice.address).call() > 0


@pytest.mark.parametrize("gift", HUGE)
def test_huge_gift_after_a_final_round_does_not_block_pay_usage_or_withdrawals(ledger, accounts, model, gift):
    stake_token = ledger.stake_token(model.model_id)
    built = run_round(ledger, _round(model, accounts), accounts.oracles[:2], accounts.payer)
    claim(ledger, built, accounts.alice.address, accounts.alice)
    _gift(ledger, accounts.stranger, stake_token.address, gift)
    _pay(ledger, accounts.payer, model.model_id, 10**18)
    _pay(ledger, accounts.payer, model.model_id, 10**18)  # and again, with the accumulator near its bound
    per_share = stake_token.functions.feePerShare().call()
    assert per_share < 2**256
    ledger.withdraw_fees(accounts.alice, model.model_id)
    # A second round still becomes final (its fee period starts with the accumulator as it is).
    run_round(ledger, _round(model, accounts, 2, built), accounts.oracles[:2], accounts.payer)


def test_withdraw_pays_what_is_there_and_keeps_the_rest_owed(ledger, accounts, model):
    stake_token = ledger.stake_token(model.model_id)
    payment = ledger.erc20(ledger.dev_payment_token)
    built = run_round(ledger, _round(model, accounts), accounts.oracles[:2], accounts.payer)
    for who in (accounts.alice, accounts.bob):
        claim(ledger, built, who.address, who)
    _pay(ledger, accounts.payer, model.model_id, 10_000)
    share = 10_000 * CONTRIBUTOR_SHARE_BPS // 10_000  # 3,000: 1,500 each
    assert [stake_token.functions.feesOf(a.address).call() for a in (accounts.alice, accounts.bob)] == [1_500, 1_500]
    # The payment token takes 2,000 of the contract's 3,000 (a rebase, a fee, a seizure).
    set_erc20_balance(ledger.chain, payment, stake_token.address, share - 2_000)
    amount, receipt = ledger.withdraw_fees(accounts.alice, model.model_id)
    assert amount == 1_000
    assert event_args(stake_token, "FeesWithdrawn", receipt) == [
        {"account": accounts.alice.address, "amount": 1_000, "remaining": 500}]
    assert stake_token.functions.feesOf(accounts.alice.address).call() == 500
    with pytest.raises(ContractRevertError) as info:
        ledger.withdraw_fees(accounts.bob, model.model_id)
    assert revert_of(info) == ("ModelStakeTokenNoFeesAvailable", (accounts.bob.address, 1_500))
    # When the balance comes back, both are paid in full and nothing is credited twice.
    set_erc20_balance(ledger.chain, payment, stake_token.address, 2_000)
    assert ledger.withdraw_fees(accounts.bob, model.model_id)[0] == 1_500
    assert ledger.withdraw_fees(accounts.alice, model.model_id)[0] == 500
    assert payment.functions.balanceOf(stake_token.address).call() == 0


def test_stake_cannot_be_sent_to_the_token_itself(ledger, accounts, model):
    stake_token = ledger.stake_token(model.model_id)
    built = run_round(ledger, _round(model, accounts), accounts.oracles[:2], accounts.payer)
    claim(ledger, built, accounts.alice.address, accounts.alice)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(stake_token.functions.transfer(stake_token.address, 1), accounts.alice)
    assert revert_of(info) == ("ERC20InvalidReceiver", (stake_token.address,))
    ledger.chain.transact(stake_token.functions.approve(accounts.bob.address, 1), accounts.alice)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(stake_token.functions.transferFrom(accounts.alice.address, stake_token.address, 1),
                              accounts.bob)
    assert revert_of(info) == ("ERC20InvalidReceiver", (stake_token.address,))

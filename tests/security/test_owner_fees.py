"""Issue 24: the model owner's share of usage fees is pulled, not pushed.

`payUsage` used to send the owner's share straight to the owner (`safeTransferFrom(payer, owner, ...)`), so a
payment token that refuses the owner (a USDC-style blacklist, `contracts/test/BlacklistPaymentToken.sol`)
reverted every usage payment of the model. Now the share is credited to the owner's balance in the registry
(`OwnerFeesCredited`) and the owner withdraws it (`withdrawOwnerFees(token, to)`), to itself or elsewhere.
`test_a_blacklisted_owner_no_longer_blocks_usage_payments` failed on the push contracts: the first payment
reverted with `BlacklistPaymentTokenBlacklisted(owner)`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from openledger_chain.cli import main
from openledger_chain.deployments import save_deployment
from openledger_chain.errors import ContractRevertError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import MAX_BPS, event_args, revert_of, stake_setup  # noqa: E402

AMOUNT = 1_000_003
SHARE_BPS = 3_000
OWNER_PART = AMOUNT - AMOUNT * SHARE_BPS // MAX_BPS  # the holders' part rounds down


def test_a_blacklisted_owner_no_longer_blocks_usage_payments(chain, accounts):
    setup = stake_setup(chain, accounts.deployer, accounts.owner, payment_token="BlacklistPaymentToken",
                        share_bps=SHARE_BPS)
    token, registry, owner = setup.payment, setup.registry, accounts.owner
    balance = token.functions.balanceOf
    chain.transact(token.functions.setBlacklisted(owner.address, True), accounts.deployer)
    setup.give_payment(accounts.payer, 3 * AMOUNT)

    # The token refuses the owner, yet both payments go through; the owner's share is credited, not sent.
    for _ in range(2):
        receipt = setup.pay(accounts.payer, AMOUNT)
        assert event_args(registry, "OwnerFeesCredited", receipt) == [
            {"modelId": setup.model_id, "owner": owner.address, "token": token.address, "amount": OWNER_PART}]
    assert registry.functions.ownerFees(owner.address, token.address).call() == 2 * OWNER_PART
    assert balance(registry.address).call() == 2 * OWNER_PART
    assert balance(setup.stake.address).call() == 2 * (AMOUNT - OWNER_PART)

    # Withdrawing to the blacklisted owner itself fails in the token and changes nothing ...
    with pytest.raises(ContractRevertError) as info:
        chain.transact(registry.functions.withdrawOwnerFees(token.address, owner.address), owner)
    assert revert_of(info) == ("BlacklistPaymentTokenBlacklisted", (owner.address,))
    assert registry.functions.ownerFees(owner.address, token.address).call() == 2 * OWNER_PART
    # ... and to another address it pays exactly what was credited.
    receipt = chain.transact(registry.functions.withdrawOwnerFees(token.address, accounts.carol.address), owner)
    assert event_args(registry, "OwnerFeesWithdrawn", receipt) == [
        {"owner": owner.address, "token": token.address, "to": accounts.carol.address, "amount": 2 * OWNER_PART}]
    assert balance(accounts.carol.address).call() == 2 * OWNER_PART
    assert registry.functions.ownerFees(owner.address, token.address).call() == 0
    assert balance(registry.address).call() == 0

    # Once the token lets the owner receive again, a later credit goes to the owner itself.
    chain.transact(token.functions.setBlacklisted(owner.address, False), accounts.deployer)
    setup.pay(accounts.payer, AMOUNT)
    chain.transact(registry.functions.withdrawOwnerFees(token.address, owner.address), owner)
    assert balance(owner.address).call() == OWNER_PART
    with pytest.raises(ContractRevertError) as info:
        chain.transact(registry.functions.withdrawOwnerFees(token.address, owner.address), owner)
    assert revert_of(info) == ("ContributionRegistryNoOwnerFees", (owner.address, token.address))


def test_only_the_credited_owner_withdraws_and_never_where_nobody_could(chain, accounts):
    setup = stake_setup(chain, accounts.deployer, accounts.owner, share_bps=SHARE_BPS)
    registry, token = setup.registry, setup.payment
    setup.give_payment(accounts.payer, AMOUNT)
    setup.pay(accounts.payer, AMOUNT)
    with pytest.raises(ContractRevertError) as info:  # the payer, the stake token's holders: nobody else
        chain.transact(registry.functions.withdrawOwnerFees(token.address, accounts.stranger.address), accounts.stranger)
    assert revert_of(info) == ("ContributionRegistryNoOwnerFees", (accounts.stranger.address, token.address))
    for nowhere in ("0x" + "00" * 20, registry.address):  # fees sent there could never be withdrawn
        with pytest.raises(ContractRevertError) as info:
            chain.transact(registry.functions.withdrawOwnerFees(token.address, nowhere), accounts.owner)
        assert revert_of(info) == ("ContributionRegistryInvalidFeeRecipient", (nowhere,))
    assert registry.functions.ownerFees(accounts.owner.address, token.address).call() == OWNER_PART


def test_credits_stay_with_the_owner_at_payment_time(chain, accounts):
    """A model handed to a new owner: what the old owner earned stays the old owner's; the new owner is
    credited from its first payment on."""
    setup = stake_setup(chain, accounts.deployer, accounts.owner, share_bps=SHARE_BPS)
    registry, token, new_owner = setup.registry, setup.payment, accounts.carol
    setup.give_payment(accounts.payer, 2 * AMOUNT)
    setup.pay(accounts.payer, AMOUNT)
    chain.transact(registry.functions.transferModelOwnership(setup.model_id, new_owner.address), accounts.owner)
    chain.transact(registry.functions.acceptModelOwnership(setup.model_id), new_owner)
    setup.pay(accounts.payer, AMOUNT)
    fees = registry.functions.ownerFees
    assert (fees(accounts.owner.address, token.address).call(), fees(new_owner.address, token.address).call()) \
        == (OWNER_PART, OWNER_PART)


def test_owner_withdraws_through_the_library_and_the_command_line(ledger, accounts, model, tmp_path, monkeypatch):
    token = ledger.erc20(ledger.dev_payment_token)
    ledger.chain.transact(token.functions.mint(accounts.payer.address, 10_000), accounts.payer)
    ledger.pay_usage(accounts.payer, model.model_id, 10_000)  # 30% to holders: 7,000 credited to the owner
    assert ledger.owner_fees(accounts.owner.address, token.address) == 7_000
    save_deployment(ledger.deployment, tmp_path / "deployments")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENLEDGER_CONFIG", raising=False)
    monkeypatch.setattr("openledger_chain.chain.connect", lambda network="localhost", rpc_url=None: ledger.chain)

    def run(*args: str, code: int = 0) -> str:
        result = CliRunner().invoke(main, list(args))
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result.output

    (report,) = json.loads(run("fees", "show", "--model", str(model.model_id), "--json"))
    assert (report["owner"], report["owner_pending"]) == (accounts.owner.address, "7000")
    # The owner (dev account 4, the command's default) sends its share to carol.
    output = run("fees", "withdraw-owner", "--model", str(model.model_id), "--to", accounts.carol.address)
    assert f"to {accounts.carol.address}" in output
    assert token.functions.balanceOf(accounts.carol.address).call() == 7_000
    assert ledger.owner_fees(accounts.owner.address, token.address) == 0
    # Nothing left: one error line naming the problem and what to do, exit code 1 (after the dev-account notice).
    output = run("fees", "withdraw-owner", "--model", str(model.model_id), code=1)
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "has no model-owner fees" in errors[0] and "fees show" in errors[0]


def test_withdraw_owner_fees_rejects_reentry(chain, accounts):
    """A payment token that calls back into the registry from the middle of the withdrawal's transfer (here
    `payUsage`, which would credit the owner again while its balance is being paid out) meets the guard."""
    setup = stake_setup(chain, accounts.deployer, accounts.owner, payment_token="ReentrantPaymentToken",
                        share_bps=SHARE_BPS)
    token, registry = setup.payment, setup.registry
    setup.give_payment(accounts.payer, 2 * AMOUNT)
    setup.pay(accounts.payer, AMOUNT)
    chain.transact(token.functions.mint(token.address, AMOUNT), accounts.stranger)
    chain.transact(token.functions.approveFromSelf(registry.address, 2**256 - 1), accounts.stranger)
    inner = registry.encode_abi("payUsage", [setup.model_id, AMOUNT])
    chain.transact(token.functions.arm(registry.address, inner, False, True), accounts.stranger)
    with pytest.raises(ContractRevertError) as info:
        chain.transact(registry.functions.withdrawOwnerFees(token.address, accounts.owner.address), accounts.owner)
    assert revert_of(info) == ("ReentrancyGuardReentrantCall", ())
    assert registry.functions.ownerFees(accounts.owner.address, token.address).call() == OWNER_PART
    # Swallowed instead, the withdrawal pays exactly the credit once and the reentrant payment never happened.
    chain.transact(token.functions.arm(registry.address, inner, False, False), accounts.stranger)
    chain.transact(registry.functions.withdrawOwnerFees(token.address, accounts.owner.address), accounts.owner)
    assert token.functions.balanceOf(accounts.owner.address).call() == OWNER_PART
    assert registry.functions.ownerFees(accounts.owner.address, token.address).call() == 0
    assert token.functions.balanceOf(registry.address).call() == 0

"""`openledger usage pay`, `openledger fees show|withdraw|withdraw-owner` and the local `openledger faucet`."""

from __future__ import annotations

from pathlib import Path

import click

from openledger_chain.cli.options import (
    ADDRESS,
    ID,
    abort,
    account_options,
    console,
    format_amount,
    handle_errors,
    json_option,
    network_options,
    open_ledger,
    parse_amount,
    print_rows,
    resolve_account,
)


@click.group("usage", short_help="Pay usage fees for a model.")
def usage() -> None:
    """Usage fees: a consumer pays in the model's payment token; the model's contributorShareBps goes
    to stake holders (held for the first holders while no stake exists), the rest to the owner."""


@usage.command("pay", short_help="Pay AMOUNT of usage fees for a model.")
@network_options
@account_options(8, "payer")
@click.option("--model", "model_id", type=ID, required=True)
@click.argument("amount")
@handle_errors
def pay(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
        model_id: int, amount: str) -> None:
    """Approve and pay AMOUNT (in whole payment tokens, e.g. 12.5) for MODEL."""
    units = parse_amount(amount)
    ledger = open_ledger(network, rpc_url)
    payer = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=8)
    receipt = ledger.pay_usage(payer, model_id, units)
    from web3.logs import DISCARD

    (event,) = ledger.registry.events.UsagePaid().process_receipt(receipt, errors=DISCARD)
    args = event["args"]
    console.print(f"paid {format_amount(args['amount'])}: {format_amount(args['ownerAmount'])} credited to the owner, "
                  f"{format_amount(args['holdersAmount'])} to stake holders (gas {receipt['gasUsed']})")


@click.command("faucet", short_help="Mint dev payment tokens (local chains only).")
@network_options
@account_options(8, "payer")
@click.option("--to", "to", type=ADDRESS, default=None,
              help="Mint to this address instead (say, a contributor's key that holds no ETH and only signs).")
@click.argument("amount", default="1000")
@handle_errors
def faucet(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
           to: str | None, amount: str) -> None:
    """Mint AMOUNT of the deployment's DevPaymentToken to the signing account (default dev account 8), or to --to
    (the signing account sends the transaction)."""
    units = parse_amount(amount)
    ledger = open_ledger(network, rpc_url)
    if not ledger.chain.is_local or ledger.dev_payment_token is None:
        abort("the faucet exists only on local chains with a DevPaymentToken", 2)
    account = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=8)
    token = ledger.erc20(ledger.dev_payment_token)
    recipient = to or account.address
    ledger.chain.transact(token.functions.mint(recipient, units), account)
    console.print(f"minted {amount} oUSD to {recipient}")


@click.group("fees", short_help="Show and withdraw usage fees (stake holders' and the model owner's).")
def fees() -> None:
    """Fees earned by stake holders of a model, and by its owner."""


@fees.command("show", short_help="Where a model's usage fees went.")
@network_options
@click.option("--model", "model_id", type=ID, required=True)
@click.option("--account", "accounts", type=ADDRESS, multiple=True, help="Also show this holder's withdrawable fees (repeat).")
@json_option
@handle_errors
def show(network: str, rpc_url: str | None, model_id: int, accounts: tuple[str, ...], as_json: bool) -> None:
    """Totals paid, credited to the owner (and what the owner has not withdrawn yet, in this payment token),
    credited to stake holders, held for the first holders; and per-holder withdrawable fees for each --account."""
    ledger = open_ledger(network, rpc_url)
    report = ledger.fee_report(model_id, accounts)
    if as_json:
        print_rows("", [report], True)
        return
    print_rows(f"usage fees of model {model_id}", [{
        "paid": format_amount(report["paid"]), "to owner": format_amount(report["to_owner"]),
        "owner's to withdraw": format_amount(report["owner_pending"]),
        "to stake holders": format_amount(report["to_holders"]),
        "held for first holders": format_amount(report["held_for_first_holders"]),
        "stake supply": format_amount(report["stake_supply"]),
    }])
    if report["holders"]:
        print_rows("withdrawable fees", [{"holder": a, "fees": format_amount(v)} for a, v in report["holders"].items()])


@fees.command("withdraw", short_help="Withdraw your fees from a model's stake token.")
@network_options
@account_options(5, "contributor")
@click.option("--model", "model_id", type=ID, required=True)
@handle_errors
def withdraw(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
             model_id: int) -> None:
    """Send the signing account all fees its stake in MODEL has earned."""
    ledger = open_ledger(network, rpc_url)
    holder = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=5)
    amount, receipt = ledger.withdraw_fees(holder, model_id)
    console.print(f"withdrew {format_amount(amount)} to {holder.address} (gas {receipt['gasUsed']})")


@fees.command("withdraw-owner", short_help="Withdraw a model owner's share of usage fees.")
@network_options
@account_options(4, "model owner")
@click.option("--model", "model_id", type=ID, required=True,
              help="A model whose payment token to withdraw in (all the signer's owner fees in that token).")
@click.option("--to", "to", type=ADDRESS, default=None,
              help="Send the fees here instead of the signer (e.g. when the payment token refuses the signer).")
@handle_errors
def withdraw_owner(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None,
                   dev_account: int | None, model_id: int, to: str | None) -> None:
    """Send the signing account's owner share of usage fees, in MODEL's payment token, to itself or --to.
    Usage payments credit the share to whoever owns the model at the time; nothing is pushed to the owner."""
    ledger = open_ledger(network, rpc_url)
    owner = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=4)
    token = ledger.get_model(model_id).payment_token
    amount, receipt = ledger.withdraw_owner_fees(owner, token, to)
    console.print(f"withdrew {format_amount(amount)} of owner fees to {to or owner.address} (gas {receipt['gasUsed']})")

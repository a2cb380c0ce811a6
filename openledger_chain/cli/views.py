"""Read-only views: `status`, `model list`, `round list`, `round show`, `scores`. Each has --json (stable
snake_case keys, every integer a decimal string, amounts in base units with their `decimals`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from openledger_chain.cli.options import (
    ADDRESS,
    ID,
    abort,
    account_options,
    format_amount,
    format_time,
    handle_errors,
    json_option,
    network_options,
    open_index,
    open_ledger,
    print_rows,
    read_db_option,
    resolve_account,
)

STAKE_DECIMALS = 18


@click.command("status", short_help="Your stake, claimable stake, fees and pending rounds on every model.")
@network_options
@account_options(5, "contributor")
@click.option("--account", type=ADDRESS, default=None, help="Whose status (default: the signing account; on local "
              "chains dev account 5, the walkthrough's contributor).")
@read_db_option
@json_option
@handle_errors
def status(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
           account: str | None, db_url: str | None, as_json: bool) -> None:
    """Per model: the account's stake, what it can claim now (rebuilt from the chain), the usage fees it
    can withdraw, and the pending round with when its challenge window ends."""
    from openledger_chain.views import account_status

    ledger = open_ledger(network, rpc_url)
    who = account or resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=5).address
    rows = account_status(ledger, who, open_index(db_url))
    if as_json:
        print_rows("", [r | {"account": who, "decimals": STAKE_DECIMALS,
                             "fee_decimals": _decimals(ledger, r["model"])} for r in rows], True)
        return
    now = int(ledger.chain.w3.eth.get_block("latest")["timestamp"])
    print_rows(f"status of {who}", [{
        "model": r["model"], "stake": format_amount(r["stake"]), "claimable now": format_amount(r["claimable"]),
        "fees": format_amount(r["fees"], _decimals(ledger, r["model"])),
        "pending round": r["pending_round"] or "",
        "window ends": format_time(r["challenge_ends_at"], now) if r["pending_round"] else "",
    } for r in rows])


@click.command("list", short_help="List every registered model.")
@network_options
@json_option
@handle_errors
def list_models(network: str, rpc_url: str | None, as_json: bool) -> None:
    """Every model: owner, tokens, holders' share, emission policy, latest final round and stake emitted."""
    from openledger_chain.views import models

    rows = models(open_ledger(network, rpc_url))
    if as_json:
        print_rows("", [r | {"decimals": STAKE_DECIMALS} for r in rows], True)
        return
    print_rows(f"{len(rows)} model{'s' if len(rows) != 1 else ''}", [{
        "model": r["model"], "owner": r["owner"], "stake token": r["stake_token"],
        "holders' share": f"{r['holders_share_bps'] / 100:g}%", "per round": format_amount(r["emission_per_round"]),
        "final round": r["final_round"], "stake emitted": format_amount(r["stake_emitted"]),
    } for r in rows])


@click.command("list", short_help="List a model's rounds: pending, vetoed and final.")
@network_options
@click.option("--model", "model_id", type=ID, required=True)
@read_db_option
@json_option
@handle_errors
def list_rounds(network: str, rpc_url: str | None, model_id: int, db_url: str | None, as_json: bool) -> None:
    """Every submission of the model's rounds, oldest first, with its status and hashes (from the chain)."""
    from openledger_chain.views import rounds

    ledger = open_ledger(network, rpc_url)
    rows = rounds(ledger, model_id, open_index(db_url))
    if as_json:
        print_rows("", [r | {"decimals": STAKE_DECIMALS} for r in rows], True)
        return
    now = int(ledger.chain.w3.eth.get_block("latest")["timestamp"])
    print_rows(f"rounds of model {model_id}", [{
        "round": r["round"], "status": r["status"] + (f", window ends {format_time(r['challenge_ends_at'], now)}"
                                                     if r["challenge_ends_at"] else ""),
        "emission": format_amount(r["emission"]), "root": _short(r["merkle_root"]),
        "round file hash": _short(r["round_file_hash"]), "signers": len(r["signers"]), "block": r["block"],
    } for r in rows])


@click.command("show", short_help="Show one round of a model: status, hashes, signers.")
@network_options
@click.option("--model", "model_id", type=ID, required=True)
@click.option("--round", "round_id", type=ID, required=True)
@read_db_option
@json_option
@handle_errors
def show_round(network: str, rpc_url: str | None, model_id: int, round_id: int, db_url: str | None,
               as_json: bool) -> None:
    """The latest submission of ROUND of MODEL: status, every posted hash, signers, published scores."""
    from openledger_chain.views import rounds

    ledger = open_ledger(network, rpc_url)
    matching = [r for r in rounds(ledger, model_id, open_index(db_url)) if r["round"] == round_id]
    if not matching:
        abort(f"model {model_id} has no round {round_id} on-chain; see `openledger round list --model {model_id}`")
    row = matching[-1]
    if as_json:
        print_rows("", [row | {"decimals": STAKE_DECIMALS}], True)
        return
    now = int(ledger.chain.w3.eth.get_block("latest")["timestamp"])
    print_rows(f"round {round_id} of model {model_id}", [row | {
        "emission": format_amount(row["emission"]), "cumulative_emission": format_amount(row["cumulative_emission"]),
        "signers": ", ".join(row["signers"]),
        "challenge_ends_at": format_time(row["challenge_ends_at"], now) if row["challenge_ends_at"] else "",
    }])


@click.command("scores", short_help="A round's published score list (default: the latest final round).")
@network_options
@click.option("--model", "model_id", type=ID, required=True)
@click.option("--round", "round_id", type=ID, default=None, help="Default: the latest final round.")
@click.option("--account", type=ADDRESS, default=None, help="Only this account's line.")
@read_db_option
@json_option
@handle_errors
def scores(network: str, rpc_url: str | None, model_id: int, round_id: int | None, account: str | None,
           db_url: str | None, as_json: bool) -> None:
    """The score list published on-chain for a round: per account its score (its share of the round's
    emission, 1e18 fixed point) and the stake allocated."""
    from openledger_chain.views import scores as round_scores

    shown, rows = round_scores(open_ledger(network, rpc_url), model_id, round_id, account, open_index(db_url))
    if as_json:
        print_rows("", [r | {"model": model_id, "round": shown, "decimals": STAKE_DECIMALS} for r in rows], True)
        return
    if not rows:
        abort(f"no published scores for model {model_id}" + (f" round {round_id}" if round_id else "")
              + (f" and account {account}" if account else ""))
    print_rows(f"scores of round {shown} of model {model_id}", [
        {"account": r["account"], "share": f"{r['score'] / 10**18:.6f}", "stake": format_amount(r["amount"])}
        for r in rows])


def _decimals(ledger: Any, model_id: int) -> int:
    return int(ledger.erc20(ledger.get_model(model_id).payment_token).functions.decimals().call())


def _short(value: str) -> str:
    return f"{value[:10]}…{value[-4:]}"

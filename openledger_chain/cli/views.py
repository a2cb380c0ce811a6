"""Read-only views: `status`, `model list`, `round list`, `round show`, `scores`. Each has --json (stable
snake_case keys, every integer a decimal string, amounts in base units with their `decimals`). Also what
`status` and `claim` say of a contributor's contributions (`describe_result`, `nothing_to_claim`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from openledger_chain.cli.options import (
    ADDRESS,
    EXISTING_FILE,
    ID,
    abort,
    account_options,
    err_console,
    format_amount,
    format_time,
    handle_errors,
    json_option,
    network_options,
    open_ledger,
    print_rows,
    read_db_option,
    read_source,
    resolve_account,
)

if TYPE_CHECKING:
    from openledger_chain.sources import EventSource
    from openledger_chain.views import ClaimPosition, RoundFiles

STAKE_DECIMALS = 18


def round_files_options(func: Any) -> Any:
    """--round-file (repeat) and --rounds-dir: the round files that say why a contribution earned what it did."""
    func = click.option("--rounds-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                        help="Folder of round files laid out as `round propose` writes them (<network>/model-<id>/"
                        "round-<n>.json) [default: openledger.toml's rounds_dir, else rounds].")(func)
    func = click.option("--round-file", "round_file_paths", type=EXISTING_FILE,
                        multiple=True, help="A round file the oracles published (repeat): it says why each "
                        "contribution earned what it did; the chain holds only its hash.")(func)
    return func


def round_files_at_hand(paths: Sequence[Path] = (), rounds_dir: Path | None = None) -> RoundFiles:
    """The given round files and the rounds folder (default: openledger.toml's rounds_dir, else rounds)."""
    from openledger_chain.config import load_config
    from openledger_chain.views import RoundFiles

    return RoundFiles(paths, rounds_dir or load_config().rounds_dir)


@click.command("status", short_help="Your stake, claimable stake, fees, pending rounds, and why each contribution "
               "earned what it did.")
@network_options
@account_options(5, "contributor")
@click.option("--account", type=ADDRESS, default=None, help="Whose status (default: the signing account; on local "
              "chains dev account 5, the walkthrough's contributor).")
@round_files_options
@read_db_option
@json_option
@handle_errors
def status(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
           account: str | None, round_file_paths: tuple[Path, ...], rounds_dir: Path | None, db_url: str | None,
           as_json: bool) -> None:
    """Per model: the account's stake, what it can claim now (rebuilt from the chain), the usage fees it
    can withdraw, and the pending round with when its challenge window ends. Then, per contribution of the
    account, what the latest final round (and the pending one) made of it: its value, the rows left out, or
    why it was excluded. Those reasons are in the round files the oracles publish (the chain holds only each
    file's hash): give them with --round-file, or keep them in the rounds folder; a file counts only if it
    hashes to what the chain holds. Without one, the line says whether the chain's score list paid the account."""
    from openledger_chain.views import account_status

    ledger = open_ledger(network, rpc_url)
    who = account or resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=5).address
    round_files = round_files_at_hand(round_file_paths, rounds_dir)
    source = read_source(ledger, db_url)
    rows = account_status(ledger, who, source, round_files)
    _warn_unmatched(round_files)
    if as_json:
        from openledger_chain.bonds import bond_standing

        print_rows("", [r | {"account": who, "decimals": STAKE_DECIMALS, "fee_decimals": _decimals(ledger, r["model"]),
                             "bonds": bond_standing(ledger, who, r["model"], source).to_json()} for r in rows], True)
        return
    now = int(ledger.chain.w3.eth.get_block("latest")["timestamp"])
    print_rows(f"status of {who}", [{
        "model": r["model"], "stake": format_amount(r["stake"]), "claimable now": format_amount(r["claimable"]),
        "fees": format_amount(r["fees"], _decimals(ledger, r["model"])),
        "pending round": r["pending_round"] or "",
        "window ends": format_time(r["challenge_ends_at"], now) if r["pending_round"] else "",
    } for r in rows])
    results = [c for r in rows for c in r["contributions"]]
    if results:
        print_rows(f"contributions of {who}", [{
            "contribution": c["contribution"], "model": c["model"], "status": c["status"],
            "result": describe_result(c),
        } for c in results])
    _print_bonds(ledger, who, source)


def _print_bonds(ledger: Any, who: str, source: Any) -> None:
    """The account's contribution bonds per model (issue 23), when it posted any."""
    from openledger_chain.cli.bonds import bond_rows

    bonds = bond_rows(ledger, who, None, source)
    if bonds:
        print_rows(f"bonds of {who}", bonds)


def describe_result(result: Mapping[str, Any]) -> str:
    """One line on what a round made of a contribution (a `ContributionResult` row), amounts in token units."""
    outcome, round_id = result["outcome"], result["round"]
    where = ("pending round " if result["round_status"] == "pending" else "round ") + str(round_id)
    file_hash = result["round_file_hash"]
    if outcome in ("valued", "valued_zero"):
        notes = []
        if result["derivative_of"] is not None:
            notes.append(f"a copy of contribution {result['derivative_of']}")
        if result["rows_left_out"]:
            notes.append(f"{result['credited_rows']} of {result['rows']} rows credited, left out: " + ", ".join(
                f"{count} {reason.replace('_', ' ')}" for reason, count in sorted(result["rows_left_out"].items())))
        return (f"valued {Decimal(result['value']):.6f} in {where}" + ("" if outcome == "valued" else ": earns nothing")
                + (f" ({'; '.join(notes)})" if notes else ""))
    if outcome == "excluded":
        return f"excluded from {where}: {result['reason']}"
    if outcome == "not_an_input":
        return f"not an input of {where}: {result['reason']}"
    if outcome == "not_valued":
        return f"an input of {where} that its file gives no value"
    if outcome == "paid":
        return (f"paid in {where}: the account was allocated {format_amount(result['account_amount'])}; each "
                f"contribution's value is in that round's file ({_short(file_hash)})")
    if outcome == "not_paid":
        return f"not paid in {where}; its reason is in that round's file ({_short(file_hash)})"
    return f"not in a round yet: {result['reason']}"  # no_round_yet


def nothing_to_claim(position: ClaimPosition) -> str:
    """Why `position` leaves nothing to claim on its model: no final round, all claimed, or what the latest
    final round (and the pending one) made of each contribution. Amounts in token units."""
    if position.final_round == 0:
        return "no final round yet"
    if position.cumulative > 0:
        return f"already claimed all {format_amount(position.cumulative)} stake (through round {position.final_round})"
    if not position.contributions:
        return "no contribution to it"
    return "; ".join(f"contribution {r.contribution_id} {describe_result(r.to_row())}" for r in position.contributions)


def abort_nothing_to_claim(ledger: Any, model_ids: Sequence[int], account: str, cause: Exception,
                           source: EventSource, round_files: RoundFiles, every_model: bool = False) -> None:
    """Abort with why `account` has nothing to claim (one line): on one model, when it has no stake there (what
    each of its contributions got, and why); with `every_model` (claim --all), on each model. Return when the
    account has stake to claim, or on one model has no final round or has claimed it all (`cause` says so, in
    token units), so that the caller re-raises `cause`."""
    from openledger_chain.claims import UnjustifiedRootError
    from openledger_chain.views import claim_position

    if isinstance(cause, UnjustifiedRootError):
        return
    positions = [claim_position(ledger, m, account, source, round_files) for m in model_ids]
    if not positions or any(p.claimable > 0 for p in positions):
        return
    unread = any(r.outcome == "not_paid" for p in positions for r in p.contributions)
    hint = (" (round files are published by the oracles: keep them in --rounds-dir, or read them with `openledger "
            "status --round-file FILE`)" if unread else "")
    if not every_model:
        (position,) = positions
        if position.final_round == 0 or position.cumulative > 0:
            return
        abort(escape(f"nothing to claim for {account} on model {position.model_id} through round "
                     f"{position.final_round}: {nothing_to_claim(position)}{hint}"), 1)
    abort(escape(f"{account} has nothing to claim on any of the {len(positions)} models: " + " | ".join(
        f"model {p.model_id}: {nothing_to_claim(p)}" for p in positions) + hint), 1)


def _warn_unmatched(round_files: RoundFiles) -> None:
    for path in round_files.unmatched():
        err_console.print(f"[yellow]warning[/]: {escape(str(path))} is not the file of the rounds shown (its hash "
                          "is not the one the chain holds for them); ignored", highlight=False)


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
    rows = rounds(ledger, model_id, read_source(ledger, db_url))
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
    matching = [r for r in rounds(ledger, model_id, read_source(ledger, db_url)) if r["round"] == round_id]
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

    ledger = open_ledger(network, rpc_url)
    shown, rows = round_scores(ledger, model_id, round_id, account, read_source(ledger, db_url))
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

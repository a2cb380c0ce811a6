"""`openledger model register|show`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from openledger_chain.cli.options import (
    ADDRESS,
    EXISTING_FILE,
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


@click.group("model", short_help="Register and inspect models.")
def model() -> None:
    """Models: each has an owner, a spec (hash pinned on-chain), a payment token, the share of usage
    fees paid to stake holders, an emission policy, and its own ERC-20 stake token."""


@model.command("register", short_help="Register a model and deploy its stake token.")
@network_options
@account_options(4, "model owner")
@click.option("--spec", "spec_path", required=True, type=EXISTING_FILE,
              help="The model spec (SPEC.json); its keccak256 is pinned on-chain.")
@click.option("--spec-uri", default=None, help="Where others can fetch the spec (default: its file:// URI).")
@click.option("--payment-token", type=ADDRESS, default=None, help="ERC-20 that usage fees are paid in (default on local "
              "chains: the deployment's DevPaymentToken).")
@click.option("--share-bps", type=click.IntRange(0, 10_000), default=3_000, show_default=True,
              help="Share of every usage fee paid to stake holders, in basis points.")
@click.option("--emission-per-round", default="1000", show_default=True, help="Max stake minted per round (tokens).")
@click.option("--max-emission", default="1000000", show_default=True, help="Max stake ever minted (tokens).")
@click.option("--name", "token_name", default=None, help="Stake token name (default: '<spec file> stake').")
@click.option("--symbol", default="STAKE", show_default=True, help="Stake token symbol.")
@json_option
@handle_errors
def register(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
             spec_path: Path, spec_uri: str | None, payment_token: str | None, share_bps: int,
             emission_per_round: str, max_emission: str, token_name: str | None, symbol: str, as_json: bool) -> None:
    """Register a model owned by the signing account; prints the model id and stake token."""
    per_round, maximum = parse_amount(emission_per_round), parse_amount(max_emission)
    from eth_utils import keccak

    from openledger_chain.attribution import load_spec
    from openledger_chain.types import ModelParams

    # A spec no round can run on, or a payment token no fee can be paid in, would be registered for good.
    load_spec(spec_path)
    ledger = open_ledger(network, rpc_url)
    owner = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=4)
    token = payment_token or ledger.dev_payment_token
    if token is None:
        abort("no payment token: give --payment-token ADDRESS (no DevPaymentToken on this network)", 2)
    _require_erc20(ledger, token)
    params = ModelParams(
        spec_hash=keccak(spec_path.read_bytes()),
        spec_uri=spec_uri or spec_path.resolve().as_uri(),
        payment_token=token,
        contributor_share_bps=share_bps,
        emission_per_round=per_round,
        max_emission=maximum,
        name=token_name or f"{spec_path.stem} stake",
        symbol=symbol,
    )
    registered, receipt = ledger.register_model(owner, params)
    if as_json:
        from openledger_chain.views import model_details

        print_rows("", [model_details(ledger, registered.model_id) | {"decimals": STAKE_DECIMALS}], True)
        return
    print_rows(f"registered model {registered.model_id}", [_model_row(registered)])


def _require_erc20(ledger: Any, token: str) -> None:
    """Abort unless `token` is a contract that answers ERC-20's totalSupply and balanceOf."""
    if not ledger.chain.w3.eth.get_code(token):
        abort(f"payment token {token} has no contract code on this chain; give the address of an ERC-20", 2)
    erc20 = ledger.erc20(token)
    try:
        erc20.functions.totalSupply().call()
        erc20.functions.balanceOf(token).call()
    except Exception:  # noqa: BLE001 - any failure means it is not a usable ERC-20
        abort(f"payment token {token} does not answer ERC-20 totalSupply/balanceOf; give the address of an ERC-20", 2)


@model.command("show", short_help="Show a registered model, its spec and its evaluation sets.")
@network_options
@click.argument("model_id", type=ID)
@json_option
@handle_errors
def show(network: str, rpc_url: str | None, model_id: int, as_json: bool) -> None:
    """Show MODEL_ID's owner, tokens, fee share, emission policy, latest final round, its spec (hash and URI,
    as registered) and every round's evaluation set: the hash its owner committed, and where it was revealed
    after the round (each with its block). With --json: integers as decimal strings, amounts in base units,
    the holders' share in basis points."""
    from openledger_chain.views import model_details

    ledger = open_ledger(network, rpc_url)
    details = model_details(ledger, model_id)
    if as_json:
        policy = ledger.bond_policy(model_id)  # in the payment token's base units
        bond = policy.amount_at(int(ledger.chain.w3.eth.block_number) + 1)
        print_rows("", [details | {"decimals": STAKE_DECIMALS, "bond": bond, "bond_pending": policy.pending_amount,
                                   "bond_pending_from": policy.pending_from}], True)
        return
    print_rows(f"model {model_id}", [{
        "model": details["model"], "owner": details["owner"],
        "stake token": f"{details['stake_token']} ({details['stake_symbol']}, {details['stake_name']})",
        "payment token": details["payment_token"], "holders' share": f"{details['holders_share_bps'] / 100:g}%",
        "per round": format_amount(details["emission_per_round"]), "max": format_amount(details["max_emission"]),
        "final round": details["final_round"], "stake emitted": format_amount(details["stake_emitted"]),
        "merkle root": details["merkle_root"], "spec hash": details["spec_hash"], "spec uri": details["spec_uri"],
    }])
    from openledger_chain.cli.bonds import print_bond_policy

    print_bond_policy(ledger, model_id)
    if not details["evaluation_sets"]:
        console.print("no evaluation set committed yet (`openledger round commit-eval`)", highlight=False)
        return
    print_rows(f"evaluation sets of model {model_id}", [{
        "round": e["round"], "committed hash": e["eval_hash"], "block": e["committed_block"],
        "revealed at": e["revealed_uri"] or "not yet", "revealed in block": e["revealed_block"] or "",
    } for e in details["evaluation_sets"]])


STAKE_DECIMALS = 18


def _model_row(m) -> dict[str, object]:  # noqa: ANN001 - openledger_chain.types.Model
    return {
        "model": m.model_id,
        "owner": m.owner,
        "stake token": m.stake_token,
        "payment token": m.payment_token,
        "holders' share": f"{m.contributor_share_bps / 100:g}%",
        "per round": format_amount(m.emission_per_round),
        "max": format_amount(m.max_emission),
        "spec hash": "0x" + m.spec_hash.hex(),
    }

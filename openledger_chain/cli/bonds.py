"""`openledger bonds apply|claim`, `openledger model set-bond`, and the bond lines of `contribute`, `model show`,
`round propose` and `status` (issue 23: bad data costs its contributor)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from openledger_chain.cli.options import (
    ID,
    abort,
    account_options,
    console,
    err_console,
    handle_errors,
    network_options,
    open_ledger,
    parse_amount,
    read_db_option,
    read_source,
    resolve_account,
)
from openledger_chain.units import format_amount


def payment_units(ledger: Any, model_id: int) -> tuple[int, str]:
    """(decimals, symbol) of the model's payment token, the token its bonds are posted in."""
    token = ledger.erc20(ledger.get_model(model_id).payment_token)
    return int(token.functions.decimals().call()), str(token.functions.symbol().call())


def _amount(units: int, decimals: int, symbol: str) -> str:
    return f"{format_amount(units, decimals, exact=True)} {symbol}"


# ----- contribute, model show, round propose, status


def approve_bond_for_registration(ledger: Any, contributor: Any, model_id: int, count: int = 1) -> int:
    """Say the bond a registration posts, then approve the vault for exactly that amount; returns it (0: the model
    takes no bond, nothing is said or sent)."""
    bond = ledger.bond_amount(model_id) * count
    if bond == 0:
        return 0
    decimals, symbol = payment_units(ledger, model_id)
    err_console.print(f"bond: {_amount(bond, decimals, symbol)}, returned after the first round that values it "
                      "unless the data is judged harmful (approving the bond vault for exactly that)",
                      highlight=False, soft_wrap=True)
    ledger.approve_bond(contributor, model_id, count)
    return bond


def permit_bond_for_relayed_registration(ledger: Any, contributor: Any, model_id: int, deadline: int) -> Any:
    """A relayed registration's bond: say it and what the contributor signs, then sign an EIP-2612 permit for
    exactly it, valid until `deadline` (the registration's). Returns the permit; None when the model takes no bond,
    or when its payment token has no permit and the contributor has approved the vault (or does so now, a
    transaction it pays for)."""
    from openledger_chain.cli.options import format_time

    bond = ledger.bond_amount(model_id)
    if bond == 0:
        return None
    decimals, symbol = payment_units(ledger, model_id)
    amount = _amount(bond, decimals, symbol)
    err_console.print(f"bond: {amount}, returned after the first round that values it unless the data is judged "
                      "harmful", highlight=False, soft_wrap=True)
    domain = ledger.bond_permit_domain(model_id)
    if domain is None:
        token = ledger.erc20(ledger.get_model(model_id).payment_token)
        allowance = int(token.functions.allowance(contributor.address, ledger.bond_vault().address).call())
        if allowance >= bond:
            err_console.print(f"the payment token has no EIP-2612 permit; {contributor.address} approved the bond "
                              "vault already", highlight=False, soft_wrap=True)
        else:
            err_console.print(f"the payment token has no EIP-2612 permit: {contributor.address} approves the bond "
                              "vault for exactly the bond (a transaction it pays for)", highlight=False, soft_wrap=True)
            ledger.approve_bond(contributor, model_id)
        return None
    now = int(ledger.chain.w3.eth.get_block("latest")["timestamp"])
    err_console.print(f"signing an EIP-2612 permit as {contributor.address}: permits the bond vault to take "
                      f"{amount} for this registration, until {format_time(deadline, now)}",
                      highlight=False, soft_wrap=True)
    return ledger.sign_bond_permit(contributor, model_id, bond, deadline, domain=domain)


def print_bond_policy(ledger: Any, model_id: int) -> None:
    """`model show`'s line on the model's bond: none, the amount in force, and a raise pending with its block."""
    policy = ledger.bond_policy(model_id)
    head = int(ledger.chain.w3.eth.block_number)
    amount = policy.amount_at(head + 1)
    if amount == 0 and not (policy.pending_from and policy.pending_from > head):
        console.print("bond: none (registrations post no bond; `openledger model set-bond` sets one)", highlight=False)
        return
    decimals, symbol = payment_units(ledger, model_id)
    line = f"bond: {_amount(amount, decimals, symbol)} per contribution"
    if policy.pending_from and policy.pending_from > head + 1:
        line += f"; raise to {_amount(policy.pending_amount, decimals, symbol)} from block {policy.pending_from}"
    console.print(line, highlight=False)


def print_round_bonds(body: dict[str, Any]) -> None:
    """`round propose`'s line on the bonds the round decides."""
    decisions = body.get("bonds", {}).get("decisions", [])
    if not decisions:
        return
    released = sum(d["outcome"] == "released" for d in decisions)
    forfeited = [f"{d['id']} ({d['reason']})" for d in decisions if d["outcome"] == "forfeited"]
    console.print(f"bonds: {released} released, {len(forfeited)} forfeited" +
                  (f": contribution {', '.join(forfeited)}" if forfeited else ""), highlight=False)


def bond_rows(ledger: Any, account: str, model_id: int | None, source: Any) -> list[dict[str, Any]]:
    """`status`'s bond rows of `account`, per model: held, released (to claim), forfeited, claimable."""
    from openledger_chain.bonds import bond_standing

    models = sorted({c.model_id for c in source.contributions(model_id) if c.contributor.lower() == account.lower()})
    rows = []
    for m in models:
        standing = bond_standing(ledger, account, m, source)
        if not standing.bonds:
            continue
        decimals, symbol = payment_units(ledger, m)
        rows.append({"model": m, "held": _amount(standing.held, decimals, symbol),
                     "released": _amount(standing.released, decimals, symbol),
                     "forfeited": _amount(standing.forfeited, decimals, symbol),
                     "claimable": ", ".join(map(str, standing.claimable)) or "none"})
    return rows


# ----- openledger model set-bond


@click.command("set-bond", short_help="Set the bond each registration in your model posts.")
@network_options
@account_options(4, "model owner")
@click.option("--model", "model_id", type=ID, required=True)
@click.argument("amount")
@handle_errors
def set_bond(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
             model_id: int, amount: str) -> None:
    """Set AMOUNT (whole payment tokens, e.g. 5; 0: none) as the bond every later registration in MODEL posts. A
    cut applies at once; a raise only after the vault's delay (257 blocks), so no pending registration pays more
    than the bond in force when it was committed. Bonds already posted keep their amount."""
    ledger = open_ledger(network, rpc_url)
    owner = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=4)
    decimals, symbol = payment_units(ledger, model_id)
    units = parse_amount(amount, decimals)
    if units >= 2**96:
        abort(f"a bond of {amount} {symbol} is over the vault's limit (2**96 base units); choose a smaller AMOUNT", 2)
    receipt = ledger.set_bond_policy(owner, model_id, units)
    (event,) = ledger.bond_vault().events.BondPolicySet().process_receipt(receipt)
    start = int(event["args"]["effectiveFrom"])
    when = "now" if start <= int(receipt["blockNumber"]) else f"from block {start}"
    console.print(f"bond of model {model_id}: {_amount(units, decimals, symbol)} per contribution, {when} "
                  f"(gas {receipt['gasUsed']})", highlight=False)


# ----- openledger bonds apply|claim


@click.group("bonds", short_help="Send a final round's bond decisions; claim bonds back.")
def bonds() -> None:
    """Contribution bonds: a model may require a bond per registration. A final round decides each bond it
    values: released (its contributor claims it back) or forfeited (paid to the stake holders as fees)."""


@bonds.command("apply", short_help="Send the bond decisions of a final round (anyone may).")
@network_options
@account_options(8, "sender")
@click.option("--model", "model_id", type=ID, required=True)
@click.option("--round", "round_id", type=ID, required=True)
@click.option("--rounds-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where round files are [default: openledger.toml's rounds_dir, else rounds].")
@click.option("--round-file", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="The round's published file [default: ROUNDS_DIR/<network>/model-M/round-R.json].")
@handle_errors
def apply(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
          model_id: int, round_id: int, rounds_dir: Path | None, round_file: Path | None) -> None:
    """Send the bond decisions of final round ROUND of MODEL, with their proofs from its round file. Decisions
    already applied are skipped, so running it again (or after someone else) sends nothing."""
    from openledger_chain.bonds import apply_round_bonds
    from openledger_chain.config import load_config
    from openledger_chain.oracle import read_round_file
    from openledger_chain.rounds import round_file_path

    ledger = open_ledger(network, rpc_url)
    sender = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=8)
    path = round_file or round_file_path(rounds_dir or load_config().rounds_dir, ledger.chain.network, model_id,
                                         round_id)
    stated = read_round_file(path).round
    if (stated.model_id, stated.round_id) != (model_id, round_id):
        abort(f"{path} is round {stated.round_id} of model {stated.model_id}, not round {round_id} of model "
              f"{model_id}; give that round's file with --round-file", 2)
    applied = apply_round_bonds(ledger, path, sender)
    if applied.receipt is None:
        console.print(f"every bond decision of round {round_id} of model {model_id} is applied already "
                      f"({len(applied.skipped)}); nothing sent", highlight=False)
        return
    decimals, symbol = payment_units(ledger, model_id)
    lost = sum(ledger.bond_of(c).amount for c in applied.forfeited)
    console.print(f"applied round {round_id}'s bond decisions: {len(applied.released)} released, "
                  f"{len(applied.forfeited)} forfeited ({_amount(lost, decimals, symbol)} to the stake holders)"
                  + (f", {len(applied.skipped)} applied before" if applied.skipped else "")
                  + f" (gas {applied.receipt['gasUsed']})", highlight=False)


@bonds.command("claim", short_help="Take back your released bonds (or a withdrawn contribution's).")
@network_options
@account_options(5, "contributor")
@click.argument("contribution_id", type=ID, required=False)
@click.option("--all", "claim_all", is_flag=True, help="Every bond of yours that can be claimed now.")
@read_db_option
@handle_errors
def claim(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
          contribution_id: int | None, claim_all: bool, db_url: str | None) -> None:
    """Claim back the bond of CONTRIBUTION_ID, or with --all every bond of yours that is claimable: released by a
    final round, or refundable because the contribution was withdrawn and a later round is final."""
    if (contribution_id is None) == (not claim_all):
        abort("give one CONTRIBUTION_ID or --all", 2)
    from openledger_chain.bonds import bond_standing, claim_bonds

    ledger = open_ledger(network, rpc_url)
    contributor = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=5)
    if claim_all:
        ids = bond_standing(ledger, contributor.address, None, read_source(ledger, db_url)).claimable
        if not ids:
            abort(f"{contributor.address} has no bond to claim now (see `openledger status`)")
    else:
        bond = ledger.bond_of(contribution_id)
        if bond.status in ("none", "forfeited", "paid"):
            why = {"none": "posted no bond", "forfeited": "lost its bond to the stake holders",
                   "paid": "had its bond paid back already"}[bond.status]
            abort(f"contribution {contribution_id} {why}: nothing to claim")
        ids = [contribution_id]
    claimed = claim_bonds(ledger, contributor, ids)
    for cid, amount in claimed:
        model_id = ledger.get_contribution(cid).model_id
        decimals, symbol = payment_units(ledger, model_id)
        console.print(f"claimed the bond of contribution {cid}: {_amount(amount, decimals, symbol)} to "
                      f"{contributor.address}", highlight=False)

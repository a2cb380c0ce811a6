"""`openledger admin`: change oracles, threshold, challenge window or guardian through the AdminTimelock.

Every change is scheduled first (public at once) and can run only after the timelock's delay, which
`deploy` sets longer than the challenge window: see the README's trust model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from openledger_chain.cli.options import (
    ADDRESS,
    abort,
    account_options,
    console,
    format_time,
    handle_errors,
    json_option,
    network_options,
    open_ledger,
    print_rows,
    resolve_account,
)

ACTIONS = {
    "add-oracle": ("addOracle", "ADDRESS"),
    "remove-oracle": ("removeOracle", "ADDRESS"),
    "set-threshold": ("setThreshold", "K"),
    "set-challenge-window": ("setChallengeWindow", "SECONDS"),
    "grant-guardian": ("grantRole", "ADDRESS"),
    "revoke-guardian": ("revokeRole", "ADDRESS"),
}


def _call(ledger: Any, action: str, value: str) -> Any:
    """The distributor call an action stands for, its argument checked."""
    function, kind = ACTIONS[action]
    if kind == "ADDRESS":
        argument: Any = ADDRESS.convert(value, None, None)
    else:
        try:
            argument = int(value)
        except ValueError:
            abort(f"{action} takes a whole number ({kind}), got {value!r}", 2)
        if argument < 0:
            abort(f"{action} takes a non-negative number, got {value}", 2)
    functions = ledger.distributor.functions
    if function in ("grantRole", "revokeRole"):
        return getattr(functions, function)(functions.GUARDIAN_ROLE().call(), argument)
    return getattr(functions, function)(argument)


@click.group("admin", short_help="Change oracles, threshold, window or guardian through the admin timelock.")
def admin() -> None:
    """The distributor's admin is a timelock: `admin schedule ACTION VALUE` announces a change, anyone can
    see it (`admin list`), and `admin execute ACTION VALUE` runs it once the delay has passed. Actions:
    add-oracle, remove-oracle, grant-guardian, revoke-guardian (ADDRESS); set-threshold (K);
    set-challenge-window (SECONDS, never below the deployment's minimum)."""


@admin.command("schedule", short_help="Announce an admin change; it can run after the timelock's delay.")
@network_options
@account_options(0, "deployer, the timelock's proposer")
@click.argument("action", type=click.Choice(sorted(ACTIONS)))
@click.argument("value")
@handle_errors
def schedule(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
             action: str, value: str) -> None:
    """Schedule ACTION with VALUE on the distributor through the timelock."""
    ledger = open_ledger(network, rpc_url)
    proposer = resolve_account(ledger.chain, keystore, key_env, dev_account)
    call = _call(ledger, action, value)
    # Would the change work? Refuse it now rather than after the delay.
    ledger.chain.call(call, sender=ledger.timelock.address, doing="not scheduled: the change would revert")
    operation = ledger.schedule_admin_call(proposer, call)
    ready = int(ledger.timelock.functions.getTimestamp(operation).call())
    now = int(ledger.chain.w3.eth.get_block("latest")["timestamp"])
    console.print(f"scheduled {action} {value} (operation 0x{operation.hex()[:12]}…); it can run from "
                  f"{format_time(ready, now)} with `openledger admin execute {action} {value}`", highlight=False)


@admin.command("execute", short_help="Run a scheduled admin change whose delay has passed.")
@network_options
@account_options(0, "deployer, the timelock's executor")
@click.argument("action", type=click.Choice(sorted(ACTIONS)))
@click.argument("value")
@handle_errors
def execute(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
            action: str, value: str) -> None:
    """Execute ACTION with VALUE, scheduled earlier with `admin schedule`."""
    ledger = open_ledger(network, rpc_url)
    executor = resolve_account(ledger.chain, keystore, key_env, dev_account)
    receipt = ledger.execute_admin_call(executor, _call(ledger, action, value))
    console.print(f"executed {action} {value} (gas {receipt['gasUsed']})", highlight=False)


@admin.command("list", short_help="Scheduled admin changes: what, when they can run, whether they ran.")
@network_options
@json_option
@handle_errors
def list_operations(network: str, rpc_url: str | None, as_json: bool) -> None:
    """Every change scheduled through the timelock, decoded, with its earliest run time and status."""
    ledger = open_ledger(network, rpc_url)
    events = ledger.events(ledger.timelock.address, ("CallScheduled", "CallExecuted", "Cancelled"))
    done = {e.args["id"]: e.event for e in events if e.event != "CallScheduled"}
    now = int(ledger.chain.w3.eth.get_block("latest")["timestamp"])
    rows = []
    for event in (e for e in events if e.event == "CallScheduled"):
        function, arguments = ledger.distributor.decode_function_input(event.args["data"])
        ready = int(ledger.timelock.functions.getTimestamp(event.args["id"]).call())
        status = {"CallExecuted": "executed", "Cancelled": "cancelled"}.get(done.get(event.args["id"], ""),
                                                                             "ready" if 1 < ready <= now else "waiting")
        rows.append({"operation": event.args["id"], "function": function.fn_name,
                     "arguments": [str(v) for v in arguments.values()],
                     "call": f"{function.fn_name}({', '.join(str(v) for v in arguments.values())})", "status": status,
                     # the timelock's own: 1 once executed, else when it may run
                     "ready_at": ready if ready > 1 else None})
    if not rows and not as_json:
        console.print("no admin change was ever scheduled")
        return
    if as_json:
        print_rows("", rows, True)
        return
    rows = [{"operation": r["operation"][:14] + "…", "call": r["call"], "status": r["status"],
             "runs from": format_time(r["ready_at"], now) if r["ready_at"] else ""} for r in rows]
    print_rows("admin changes", rows)

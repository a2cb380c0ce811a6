"""`openledger node`: a real local chain (anvil from npm) with the dev accounts; `node fund` and
`node advance-time` give a key ETH and move the clock on it (local chains only)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from openledger_chain.cli import interrupts
from openledger_chain.cli.options import (
    ADDRESS,
    abort,
    console,
    format_amount,
    handle_errors,
    network_options,
    network_url,
    parse_amount,
)


def find_anvil(project_root: Path) -> Path | None:
    """The anvil binary shipped by the npm package @foundry-rs/anvil in node_modules."""
    for candidate in sorted((project_root / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
        if candidate.is_file():
            return candidate
    return None


@click.group("node", invoke_without_command=True,
             short_help="Run a local chain (anvil) on 127.0.0.1:8545; fund keys and move time on it.")
@click.option("--port", type=int, default=8545, show_default=True)
@click.option("--block-time", type=int, default=None, help="Mine a block every N seconds (default: on each tx).")
@click.option("--project-root", type=click.Path(path_type=Path, file_okay=False), default=Path("."), show_default=True)
@click.pass_context
def node(ctx: click.Context, port: int, block_time: int | None, project_root: Path) -> None:
    """Start anvil (npm package @foundry-rs/anvil, installed by `npm ci`) with the dev mnemonic and
    chain id 31337, print the dev accounts, and run until Ctrl-C (or SIGTERM/SIGHUP). Its state ends when
    it stops: after a restart the deployer runs `openledger deploy --force` and everyone else gets the new
    deployments/localhost.json from the deployer (the old one names contracts the new chain does not have).

    On a running local node, `node fund ADDRESS` gives a key of your own ETH for gas and `node advance-time
    SECONDS` moves the clock past a challenge window; both refuse any other chain."""
    if ctx.invoked_subcommand is not None:
        given = [f"--{name.replace('_', '-')}" for name in ("port", "block_time", "project_root")
                 if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
        if given:
            abort(f"{' and '.join(given)} {'start' if len(given) > 1 else 'starts'} a node; `openledger node "
                  f"{ctx.invoked_subcommand}` acts on a running one: give it --rpc-url http://127.0.0.1:PORT", 2)
        return
    # Ctrl-C, a service manager, `kill` or a closed terminal: stop anvil, or it keeps the port. The handlers
    # only ask anvil to stop and never raise, so no signal, however early it comes, can leave anvil running:
    # they are in place before the slow start-up below and before anvil starts, and a Ctrl-C that came even
    # earlier is on record in `interrupts` (its KeyboardInterrupt can be lost in a finalizer during imports).
    stopping: list[int] = []
    started: list[subprocess.Popen[bytes]] = []

    def stop_anvil(signum: int, frame: object) -> None:
        stopping.append(signum)
        if started and started[0].poll() is None:
            started[0].send_signal(signal.SIGINT)

    previous = {stop: signal.signal(stop, stop_anvil) for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        _run_anvil(port, block_time, project_root, stopping, started)
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def _run_anvil(port: int, block_time: int | None, project_root: Path, stopping: list[int],
               started: list[subprocess.Popen[bytes]]) -> None:
    from openledger_chain.chain import DEV_MNEMONIC, dev_accounts

    anvil = find_anvil(project_root)
    if anvil is None:
        abort(f"anvil not found under {project_root / 'node_modules'}; run `npm ci` in the project folder", 2)
    if not _port_free(port):
        abort(f"port {port} is already in use by {_port_holder(port)}; stop it, or pick another with --port "
              "(and pass --rpc-url http://127.0.0.1:PORT to the other commands)")
    args = [str(anvil), "--host", "127.0.0.1", "--port", str(port), "--chain-id", "31337",
            "--mnemonic", DEV_MNEMONIC, "--accounts", "10", "--silent"]
    if block_time:
        args += ["--block-time", str(block_time)]
    accounts = dev_accounts()
    if stopping or interrupts.received():
        raise click.Abort()
    process = subprocess.Popen(args)
    started.append(process)
    if stopping:
        process.send_signal(signal.SIGINT)
    try:
        console.print(f"local chain on http://127.0.0.1:{port} (chain id 31337); Ctrl-C stops it")
        for index, account in enumerate(accounts):
            role = {0: "deployer", 1: "oracle", 2: "oracle", 3: "oracle", 4: "model owner"}.get(index, "")
            console.print(f"  --dev-account {index}  {account.address}  {role}", highlight=False)
        process.wait()
        if stopping:
            console.print("node stopped")
    finally:
        # However we leave (a signal, an error), anvil must not outlive us.
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    if process.returncode not in (0, -signal.SIGINT, -signal.SIGTERM, -signal.SIGKILL, 130, None):
        abort(f"anvil exited with code {process.returncode} (is port {port} already in use?)")


@node.command("fund", short_help="Give an address ETH for gas (local chains only).")
@network_options
@click.argument("address", type=ADDRESS)
@click.option("--eth", "amount", default="100", show_default=True, help="ETH to add to its balance.")
@handle_errors
def fund(network: str, rpc_url: str | None, address: str, amount: str) -> None:
    """Add ETH to ADDRESS's balance on a local node (anvil's `anvil_setBalance`), so a key of your own (a
    keystore, or one in an environment variable) can pay gas instead of acting as a dev account. Refused on
    any chain that is not local."""
    wei = parse_amount(amount)
    chain = _local_node(network, rpc_url)
    balance = chain.fund(address, wei)
    console.print(f"funded {address} with {amount} ETH on {network} (chain id {chain.chain_id}); its balance is "
                  f"{format_amount(balance)} ETH", highlight=False)


@node.command("advance-time",
              short_help="Move a local chain's clock forward (past a challenge window) or mine blocks.")
@network_options
@click.argument("seconds", type=click.IntRange(min=1), required=False)
@click.option("--blocks", type=click.IntRange(min=1), default=None,
              help="Also mine N empty blocks (e.g. 256: registrations settle, and rounds count them).")
@handle_errors
def advance_time(network: str, rpc_url: str | None, seconds: int | None, blocks: int | None) -> None:
    """Move the clock of a local node SECONDS forward and mine a block at the new time (`evm_increaseTime`,
    `evm_mine`): a round's challenge window then passes at once (`openledger round finalize`), as does an
    admin change's timelock delay. Later blocks keep the offset. With --blocks N, mine N empty blocks
    (`anvil_mine`), as a registration waits out the 256 blocks in which an older commitment could still
    displace it before `round propose` counts it. Refused on any chain that is not local."""
    if seconds is None and blocks is None:
        abort("give SECONDS to move the clock, or --blocks N to mine blocks (or both)", 2)
    chain = _local_node(network, rpc_url)
    if seconds is not None:
        number, timestamp = chain.advance_time(seconds)
        console.print(f"moved the clock of {network} forward {seconds} s", highlight=False)
    if blocks is not None:
        number = chain.mine_blocks(blocks)
        timestamp = int(chain.w3.eth.get_block(number)["timestamp"])
        console.print(f"mined {blocks} blocks on {network}", highlight=False)
    at = datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    console.print(f"block {number} is at {at}", highlight=False)


def _local_node(network: str, rpc_url: str | None) -> Any:
    """The node to fund keys or move time on (the library refuses any chain that is not local)."""
    from openledger_chain.chain import EMBEDDED, connect

    if network == EMBEDDED:
        abort("the embedded chain lives only inside one process (`openledger demo`, the tests), whose dev accounts "
              "start with 10,000 ETH each and whose code moves its time; start `openledger node` and use these "
              "commands there", 2)
    return connect(network, network_url(network, rpc_url))


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_holder(port: int) -> str:
    """'pid 123 (anvil --port 8545 …)' for the process listening on `port`, from /proc (Linux)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if any(os.readlink(fd).removeprefix("socket:[").rstrip("]") in inodes for fd in (proc / "fd").iterdir()):
                argv = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
                command = " ".join([Path(argv[0]).name, *argv[1:]]).strip()
                return f"pid {proc.name} ({command[:70]}…)" if len(command) > 70 else f"pid {proc.name} ({command})"
        except OSError:
            continue
    return "another program"

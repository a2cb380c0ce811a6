"""`openledger node`: a real local chain (anvil from npm) with the dev accounts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import click

from openledger_chain.cli.options import abort, console


def find_anvil(project_root: Path) -> Path | None:
    """The anvil binary shipped by the npm package @foundry-rs/anvil in node_modules."""
    for candidate in sorted((project_root / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
        if candidate.is_file():
            return candidate
    return None


@click.command("node", short_help="Run a local chain (anvil) on 127.0.0.1:8545 with the dev accounts.")
@click.option("--port", type=int, default=8545, show_default=True)
@click.option("--block-time", type=int, default=None, help="Mine a block every N seconds (default: on each tx).")
@click.option("--project-root", type=click.Path(path_type=Path, file_okay=False), default=Path("."), show_default=True)
def node(port: int, block_time: int | None, project_root: Path) -> None:
    """Start anvil (npm package @foundry-rs/anvil, installed by `npm ci`) with the dev mnemonic and
    chain id 31337, print the dev accounts, and run until Ctrl-C (or SIGTERM/SIGHUP). Its state ends when
    it stops: after a restart the deployer runs `openledger deploy --force` and everyone else gets the new
    deployments/localhost.json from the deployer (the old one names contracts the new chain does not have)."""
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
    process = subprocess.Popen(args)

    def stop_on_signal(signum: int, frame: object) -> None:
        # A service manager, `kill` or a closed terminal: stop anvil too, or it keeps the port.
        raise KeyboardInterrupt

    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, stop_on_signal)
    try:
        console.print(f"local chain on http://127.0.0.1:{port} (chain id 31337); Ctrl-C stops it")
        for index, account in enumerate(dev_accounts()):
            role = {0: "deployer", 1: "oracle", 2: "oracle", 3: "oracle", 4: "model owner"}.get(index, "")
            console.print(f"  --dev-account {index}  {account.address}  {role}", highlight=False)
        process.wait()
    except KeyboardInterrupt:
        console.print("node stopped")
    finally:
        # However we leave (Ctrl-C, SIGTERM, an error), anvil must not outlive us.
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    if process.returncode not in (0, -signal.SIGINT, -signal.SIGTERM, -signal.SIGKILL, 130, None):
        abort(f"anvil exited with code {process.returncode} (is port {port} already in use?)")


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

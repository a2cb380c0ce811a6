"""Start a real local node (anvil from npm, as `openledger node` runs it) on a free port."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from _ports import free_port

from web3 import Web3

from openledger_chain.chain import DEV_MNEMONIC
from openledger_chain.cli.node import find_anvil

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: The CLI calls that give a fresh local deployment its committee keys, as the README's walkthrough makes
#: them: the guardian (dev account 0) and the oracles (1-3) publish theirs, oracle 1 opens epoch 1. Files
#: are encrypted to it by default.
COMMITTEE_SETUP = [["keys", "publish", "--dev-account", str(i)] for i in range(4)] + [["keys", "rewrap"]]


def start_anvil(chain_id: int = 31337, *, port: int | None = None,
                extra_args: Sequence[str] = ()) -> tuple[subprocess.Popen[bytes], str]:
    """Start anvil (on `port`, else a free one; `extra_args` such as `--state FILE`) and wait until it answers."""
    anvil = find_anvil(PROJECT_ROOT)
    assert anvil is not None, "anvil is missing: run `npm ci` in the project folder (CI does it via make test)"
    port = port or free_port()
    process = subprocess.Popen(
        [str(anvil), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id),
         "--mnemonic", DEV_MNEMONIC, "--silent", *extra_args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if Web3(Web3.HTTPProvider(url)).is_connected():
            return process, url
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("anvil did not start within 20 s")


@contextmanager
def running_anvil(chain_id: int = 31337) -> Iterator[str]:
    """A fresh anvil for the duration of the block; yields its URL."""
    process, url = start_anvil(chain_id)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)

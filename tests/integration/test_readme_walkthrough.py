"""The README's step-by-step, run literally: every `$ openledger …` line of its walkthrough against a fresh
anvil (as `openledger node` starts it), in a scratch folder holding what its `cp` line copies. Each
command must succeed (or fail, where the README shows an error), and every line of output the README
shows outside a table must appear in the real output (hashes and keys the README abbreviates as
`0x2a77…0ee2` or `age1…` match any hex or bech32 digits there). The third terminal's `python3 -m http.server`, which serves what contributors
publish, is a real HTTP server started in this process."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _anvil import PROJECT_ROOT
from _readme import command_block, run_literally
from click.testing import CliRunner
from web3 import Web3

from openledger_chain.cli import main

README = PROJECT_ROOT / "README.md"


def _walkthrough() -> list[tuple[str, list[str]]]:
    """(command line, the output lines the README shows for it), in order."""
    return command_block(README.read_text(), "## Step by step on a local node")


def test_the_walkthrough_runs_literally_with_the_output_it_shows(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _walkthrough()
    assert len(steps) > 25
    with run_literally(steps, PROJECT_ROOT / "examples" / "attribution", tmp_path, monkeypatch) as run:
        _assert_no_plaintext_outside(run.scratch, run.files, run.cache, run.outputs, run.url)
        _assert_age_opens_the_envelope(run.scratch, run.url, tmp_path)


def _assert_no_plaintext_outside(scratch: Path, files: list[str], cache: Path, outputs: str, url: str) -> None:
    """No row of a contributed file or of the evaluation set leaves the contributors' and the owner's own
    files and the committee's cache: not the served folder, the round files, the deployment file, an index of
    every event, any command's output, or any transaction's call data or log on the node."""
    markers = [row for name in files if name.endswith(".csv")
               for row in (scratch / name).read_bytes().splitlines()[1:]]
    assert len(markers) > 100
    index = CliRunner().invoke(main, ["index", "run", "--db", f"sqlite:///{scratch / 'index.db'}"],
                               env={"OPENLEDGER_RPC_URL": url})
    assert index.exit_code == 0, index.output
    own = {scratch / name for name in files}
    public = {str(p.relative_to(scratch)): p.read_bytes() for p in scratch.rglob("*") if p.is_file() and p not in own}
    assert {"published/alice.csv.age", "published/bob.csv.age", "published/eval-1.csv.age", "index.db"} <= set(public)
    public["command output"] = outputs.encode()
    public["chain"] = _chain_bytes(url)
    leaks = sorted({where for where, blob in public.items() for m in markers if m in blob})
    assert leaks == []
    # The committee's cache holds the contributed rows (so the search could find them), readable by its user
    # alone. (The evaluation set reaches the oracles from its owner, not through the cache.)
    cached = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    contributed = [row for name in ("alice.csv", "bob.csv") for row in (scratch / name).read_bytes().splitlines()[1:]]
    assert contributed and all(m in cached for m in contributed)
    assert all(p.stat().st_mode & 0o077 == 0 for p in [cache, *cache.rglob("*")])


def _assert_age_opens_the_envelope(scratch: Path, url: str, tmp_path: Path) -> None:
    """The reference tool `age` alone, given the guardian's key, opens the guardian's wrap of the epoch key
    posted on the chain, and with that key the file `contribute` published: both layers are plain age files."""
    from openledger_chain.chain import connect, dev_accounts
    from openledger_chain.confidential import dev_identity
    from openledger_chain.contracts import OpenLedger
    from openledger_chain.deployments import load_deployment

    age = shutil.which("age")
    assert age is not None, "the reference tool `age` is missing: apt-get install age (.ci/run does)"
    guardian = dev_accounts()[0]
    chain = connect("localhost", url)
    ledger = OpenLedger(chain, load_deployment(chain, scratch / "deployments"))
    (wrap,) = [w for w in ledger.committee_wraps() if w["member"] == guardian.address and w["epoch"] == 1]
    member_key = tmp_path / "guardian.key"
    member_key.write_text(f"{dev_identity(bytes(guardian.key))}\n")
    epoch_key = tmp_path / "epoch-1.key"
    epoch_key.write_bytes(subprocess.run([age, "-d", "-i", str(member_key)], input=bytes(wrap["wrappedKey"]),
                                         capture_output=True, check=True).stdout)
    opened = subprocess.run([age, "-d", "-i", str(epoch_key), str(scratch / "published" / "alice.csv.age")],
                            capture_output=True, check=True).stdout
    assert opened == (scratch / "alice.csv").read_bytes()


def _chain_bytes(url: str) -> bytes:
    """Every transaction's call data and every log's topics and data on the node."""
    w3 = Web3(Web3.HTTPProvider(url))
    chunks = []
    for number in range(w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            chunks.append(bytes(tx["input"]))
            for log in w3.eth.get_transaction_receipt(tx["hash"])["logs"]:
                chunks.append(bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"]))
    return b"".join(chunks)

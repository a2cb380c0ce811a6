"""README "From a Parquet file to a finished round on a local node" (issue 26), run literally: every `$ openledger …`
line against a fresh anvil, in a scratch folder holding what its `cp` line copies from examples/embeddings. Each
command must succeed (or fail, where the README shows an error), and every output line the README shows outside
a table must appear in the real output. Then the chain and the round file are checked against the spec: the round
records the embedding's identity, the refused file never reached the chain, and each claim minted what the round
allocated."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from _anvil import PROJECT_ROOT, running_anvil
from _readme import command_block, folder_like, run_steps

from openledger_chain.chain import connect
from openledger_chain.contracts import OpenLedger
from openledger_chain.deployments import load_deployment

README = PROJECT_ROOT / "README.md"


def test_a_parquet_round_on_a_local_node_runs_literally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = command_block(README.read_text(), "#### From a Parquet file to a finished round on a local node")
    commands = [c for c, _ in steps]
    assert commands[0].startswith(".venv/bin/openledger node") and commands[1].startswith("export PATH")
    folder = Path(re.search(r"mkdir -p (\S+)", commands[2]).group(1))
    files = re.search(r"\{([^}]*)\}", commands[2]).group(1).split(",")
    assert any(name.endswith(".parquet") for name in files) and "round finalize" in " ".join(commands)
    scratch = folder_like(folder, tmp_path)
    monkeypatch.chdir(scratch)
    cache = tmp_path / "committee-cache"
    monkeypatch.setenv("OPENLEDGER_CACHE_DIR", str(cache))
    for name in files:
        shutil.copyfile(PROJECT_ROOT / "examples" / "embeddings" / name, scratch / name)
    try:
        with running_anvil() as url:
            run_steps(steps[3:], url)
            _assert_the_round_on_chain(scratch, url)
    finally:
        monkeypatch.chdir(tmp_path)
        if scratch != tmp_path:
            shutil.rmtree(scratch, ignore_errors=True)


def _assert_the_round_on_chain(scratch: Path, url: str) -> None:
    chain = connect("localhost", url)
    ledger = OpenLedger(chain, load_deployment(chain, scratch / "deployments"))
    body = json.loads((scratch / "rounds" / "localhost" / "model-1" / "round-1.json").read_text())["body"]
    spec = json.loads((scratch / "spec.json").read_text())
    representation = body["method"]["representation"]
    for field in ("model", "model_hash", "dimension", "normalization", "distance", "column"):
        assert str(representation[field]) == str(spec["embedding"][field]), field
    # dave's file was refused before anything was sent: two contributions, both valued in the round.
    assert ledger.registry.functions.contributionCount().call() == 2
    assert [i.get("excluded") for i in body["inputs"]] == [None, None]
    assert ledger.distributor.functions.finalizedRound(1).call()[1] == 1
    stake = ledger.stake_token(1)
    allocations = {a["account"]: int(a["amount"]) for a in body["cumulative"]}
    assert len(allocations) == 2 and sum(allocations.values()) == 1_000 * 10**18
    for account, amount in allocations.items():
        assert stake.functions.balanceOf(account).call() == amount

"""README "From a Parquet file to a finished round on a local node" (issue 26), run literally: every `$ openledger …`
line against a fresh anvil, in a scratch folder holding what its `cp` line copies from examples/embeddings. Each
command must succeed (or fail, where the README shows an error), and every output line the README shows outside
a table must appear in the real output. Then the chain and the round file are checked against the spec: the round
records the embedding's identity, the refused file never reached the chain, and each claim minted what the round
allocated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _anvil import PROJECT_ROOT
from _readme import command_block, run_literally

from openledger_chain.chain import connect
from openledger_chain.contracts import OpenLedger
from openledger_chain.deployments import load_deployment

README = PROJECT_ROOT / "README.md"


def test_a_parquet_round_on_a_local_node_runs_literally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = command_block(README.read_text(), "#### From a Parquet file to a finished round on a local node")
    assert "round finalize" in " ".join(c for c, _ in steps)
    with run_literally(steps, PROJECT_ROOT / "examples" / "embeddings", tmp_path, monkeypatch) as run:
        assert any(name.endswith(".parquet") for name in run.files)
        _assert_the_round_on_chain(run.scratch, run.url)


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

"""What the read commands tell people, run through the CLI on the embedded chain: a contributor learns why a
contribution earned nothing (`status`, `claim`), `model show` lists the spec and every evaluation set, and
every `--json` output is data a program can read (no display strings)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from eth_utils import keccak

from openledger_chain.cli import main
from openledger_chain.contracts import OpenLedger
from openledger_chain.deployments import save_deployment
from openledger_chain.oracle import finalize_round, propose_round, sign_round_file, submit_round_file
from openledger_chain.types import ContributionKind, ModelParams

from _ledger_setup import CHALLENGE_WINDOW, Accounts

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "attribution"
TOKEN = 10**18
MALFORMED = "f0,f1\n1,2\n"  # no label column
MALFORMED_REASON = "malformed: row 1, column 'diagnosis': missing label column"
Run = Callable[..., Result]


@pytest.fixture
def cli(ledger: OpenLedger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`run(*args, ok=True)`: the `openledger` command line in `tmp_path` (its working folder), on the test's
    embedded chain: every command's connection is this chain, whose deployment file is in ./deployments."""
    save_deployment(ledger.deployment, tmp_path / "deployments")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENLEDGER_CONFIG", raising=False)
    monkeypatch.setattr("openledger_chain.chain.connect", lambda network="localhost", rpc_url=None: ledger.chain)

    def run(*args: str, ok: bool = True) -> Result:
        result = CliRunner().invoke(main, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        return result

    return run


@pytest.fixture
def round_one(ledger: OpenLedger, accounts: Accounts, tmp_path: Path, cli: Run) -> Path:
    """Model 1 with alice's and bob's data, the stranger's malformed file (contribution 3) and carol's copy of
    alice's rows (contribution 4, registered later: it earns nothing); round 1 proposed
    into ./rounds (as `round propose` does), signed by two oracles, submitted and final. Its evaluation set
    is revealed; round 2's is committed. Returns round 1's file."""
    for name in ("spec.json", "eval.csv", "eval2.csv", "alice.csv", "bob.csv", "carol.csv", "copycat.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    (tmp_path / "bad.csv").write_text(MALFORMED)
    spec = tmp_path / "spec.json"
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), "https://models.example/spec.json", ledger.dev_payment_token or "", 3_000,
        1_000 * TOKEN, 1_000_000 * TOKEN, "Breast cancer stake", "BCS"))
    for who, name in ((accounts.alice, "alice.csv"), (accounts.bob, "bob.csv"), (accounts.stranger, "bad.csv"),
                      (accounts.carol, "copycat.csv")):
        ledger.register_contribution(who, model.model_id, ContributionKind.DATA, keccak((tmp_path / name).read_bytes()),
                                     name)
    ledger.commit_evaluation(accounts.owner, model.model_id, 1, keccak((tmp_path / "eval.csv").read_bytes()))
    path, _ = propose_round(ledger, model.model_id, spec_path=spec, eval_path=tmp_path / "eval.csv",
                            rounds_dir=tmp_path / "rounds", data_dir=tmp_path)
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    submit_round_file(ledger, path, accounts.oracles[0])
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + CHALLENGE_WINDOW + 1)
    finalize_round(ledger, model.model_id, accounts.deployer)
    ledger.reveal_evaluation(accounts.owner, model.model_id, 1, "https://models.example/eval-1.csv.age")
    ledger.commit_evaluation(accounts.owner, model.model_id, 2, keccak((tmp_path / "eval2.csv").read_bytes()))
    assert path == tmp_path / "rounds" / "embedded" / "model-1" / "round-1.json"
    return path


def test_tables_show_strings_from_the_chain_as_they_are(cli: Run, round_one: Path, ledger: OpenLedger,
                                                        accounts: Accounts, tmp_path: Path) -> None:
    """A URI anyone registered is shown, never read as rich markup (`[/x]` made `contributions list` crash)."""
    (tmp_path / "odd.csv").write_text((tmp_path / "carol.csv").read_text())
    ledger.register_contribution(accounts.carol, 1, ContributionKind.DATA, keccak((tmp_path / "odd.csv").read_bytes()),
                                 "https://example.org/[/x]/[bold]odd.csv")
    shown = cli("contributions", "list", "--model", "1").output
    assert "[/x]/[bold]odd.csv" in "".join(shown.split())

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


def test_model_show_lists_the_spec_and_every_evaluation_set(cli: Run, round_one: Path, ledger: OpenLedger) -> None:
    eval1 = "0x" + keccak((round_one.parents[3] / "eval.csv").read_bytes()).hex()
    eval2 = "0x" + keccak((round_one.parents[3] / "eval2.csv").read_bytes()).hex()
    shown = cli("model", "show", "1").output
    for text in ("https://models.example/spec.json", "0x" + ledger.get_model(1).spec_hash.hex(), "30%",
                 "1,000.000000", "evaluation sets of model 1", eval1, eval2,
                 "https://models.example/eval-1.csv.age", "not yet"):
        assert text in shown, text
    details = json.loads(cli("model", "show", "1", "--json").output)[0]
    assert details["spec_uri"] == "https://models.example/spec.json"
    assert details["holders_share_bps"] == "3000" and details["emission_per_round"] == str(1_000 * TOKEN)
    first, second = details["evaluation_sets"]
    assert first["round"] == "1" and first["eval_hash"] == eval1
    assert first["revealed_uri"] == "https://models.example/eval-1.csv.age"
    assert int(first["committed_block"]) < int(first["revealed_block"])
    assert second["round"] == "2" and second["eval_hash"] == eval2
    assert second["revealed_uri"] is None and second["revealed_block"] is None


# What a display string looks like: "1,000.000000", "423.571838" (six decimals), "30%", "0x5FbDB2…", a date.
DISPLAY = [re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?"), re.compile(r"\d+(\.\d+)?\s?%"), re.compile("…"),
           re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")]
SIX_DECIMALS = re.compile(r"-?\d+\.\d{6}")
KEY = re.compile(r"[a-z][a-z0-9_]*|0x[0-9a-fA-F]{40}|[0-9]+")
# Sentences for people, carried along in the JSON: `verify`'s detail of each check (hashes shortened there; the
# round file and `round show --json` hold them whole), why a contribution earned nothing, the committee's state.
PROSE = {"detail", "reason", "status"}


def _check_machine_readable(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert KEY.fullmatch(key), f"{where}: key {key!r} is not snake_case"
            if key in PROSE and isinstance(item, str):
                continue
            _check_machine_readable(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_machine_readable(item, f"{where}[{i}]")
    elif isinstance(value, str):
        assert not SIX_DECIMALS.fullmatch(value), f"{where}: {value!r} is a display amount"
        for pattern in DISPLAY:
            assert not pattern.search(value), f"{where}: {value!r} is display formatting"
    else:
        assert value is None or isinstance(value, bool), f"{where}: {value!r} is a JSON number, not a decimal string"


def _commands_with_json(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands_with_json(command, (*prefix, name))
        elif any("--json" in p.opts for p in command.params if isinstance(p, click.Option)):
            yield (*prefix, name)


def test_every_json_output_is_machine_readable(cli: Run, round_one: Path, ledger: OpenLedger,
                                               accounts: Accounts) -> None:
    """Every command that offers --json (found by walking the command tree, so a new one cannot be missed)
    prints JSON whose integers are decimal strings, whose keys are snake_case, and that holds no display
    formatting: no thousands separators, six-decimal token amounts, percentages, shortened hashes or dates."""
    ledger.schedule_admin_call(accounts.deployer, ledger.distributor.functions.setChallengeWindow(900))
    cli("index", "run", "--db", "sqlite:///index.db")
    arguments = {
        ("admin", "list"): [],
        ("contribute",): ["--model", "1", "--public", "--dev-account", "7", "carol.csv"],
        ("contributions", "list"): ["--model", "1"],
        ("deploy",): [],
        ("fees", "show"): ["--model", "1", "--account", accounts.alice.address],
        ("index", "status"): ["--db", "sqlite:///index.db"],
        ("keys", "show"): [],
        ("model", "list"): [],
        ("model", "register"): ["--spec", "spec.json", "--spec-uri", "https://models.example/spec.json"],
        ("model", "show"): ["1"],
        ("round", "list"): ["--model", "1"],
        ("round", "show"): ["--model", "1", "--round", "1"],
        ("scores",): ["--model", "1"],
        ("status",): ["--account", accounts.stranger.address],
        ("verify",): ["--model", "1", "--round", "1"],
    }
    commands = set(_commands_with_json(main))
    assert commands == set(arguments), f"give arguments for {sorted(commands ^ set(arguments))}"
    for command in sorted(commands):
        output = cli(*command, *arguments[command], "--json").output
        try:
            parsed = json.loads(output)
        except ValueError:
            pytest.fail(f"{' '.join(command)} --json is not JSON: {output[:300]}")
        _check_machine_readable(parsed, " ".join(command))


def test_tables_show_strings_from_the_chain_as_they_are(cli: Run, round_one: Path, ledger: OpenLedger,
                                                        accounts: Accounts, tmp_path: Path) -> None:
    """A URI anyone registered is shown, never read as rich markup (`[/x]` made `contributions list` crash)."""
    (tmp_path / "odd.csv").write_text((tmp_path / "carol.csv").read_text())
    ledger.register_contribution(accounts.carol, 1, ContributionKind.DATA, keccak((tmp_path / "odd.csv").read_bytes()),
                                 "https://example.org/[/x]/[bold]odd.csv")
    shown = cli("contributions", "list", "--model", "1").output
    assert "[/x]/[bold]odd.csv" in "".join(shown.split())

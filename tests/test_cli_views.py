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
from openledger_chain.units import format_amount

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
    ledger.chain.mine_blocks(256)  # the registrations settle (ContributionRegistry.REVEAL_PERIOD_BLOCKS)
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


def _one_line(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return " ".join(lines[0].split())


def test_an_excluded_contributor_learns_why_from_status_and_claim(cli: Run, round_one: Path, accounts: Accounts,
                                                                  tmp_path: Path) -> None:
    stranger = accounts.stranger.address
    # status reads the round file in ./rounds (openledger.toml's rounds_dir by default): it matches the chain.
    shown = " ".join(cli("status", "--account", stranger).output.split())
    assert f"contributions of {stranger}" in shown
    assert f"excluded from round 1: {MALFORMED_REASON}" in shown
    (model,) = json.loads(cli("status", "--account", stranger, "--json").output)
    (result,) = model["contributions"]
    assert result["contribution"] == "3" and result["round"] == "1" and result["round_status"] == "final"
    assert result["outcome"] == "excluded" and result["reason"] == MALFORMED_REASON
    assert result["round_file_hash"] == json.loads(round_one.read_text())["roundFileHash"]
    assert result["round_file"] == str(Path("rounds/embedded/model-1/round-1.json"))
    cli("index", "run", "--db", "sqlite:///index.db")  # the same from the index
    indexed = cli("status", "--account", stranger, "--db", "sqlite:///index.db").output
    assert f"excluded from round 1: {MALFORMED_REASON}" in " ".join(indexed.split())

    # claim says the same instead of "no stake", in one line, exit 1, whichever way it is asked.
    for args in (["--model", "1"], ["--all"], [str(round_one)]):
        refused = cli("claim", "--dev-account", "9", *args, ok=False)
        assert refused.exit_code == 1, refused.output
        line = _one_line(refused)
        assert f"contribution 3 excluded from round 1: {MALFORMED_REASON}" in line, line
        assert "no stake" not in line

    # No round file at hand: the chain says the account was not paid, and where the reason is.
    shutil.move(tmp_path / "rounds", tmp_path / "elsewhere")
    file_hash = json.loads((tmp_path / "elsewhere/embedded/model-1/round-1.json").read_text())["roundFileHash"]
    short = f"{file_hash[:10]}…{file_hash[-4:]}"
    chain_only = " ".join(cli("status", "--account", stranger).output.split())
    assert f"not paid in round 1; its reason is in that round's file ({short})" in chain_only
    line = _one_line(cli("claim", "--dev-account", "9", "--model", "1", ok=False))
    assert f"contribution 3 not paid in round 1; its reason is in that round's file ({short})" in line
    assert "--rounds-dir" in line and "--round-file" in line
    # ... and a published copy, given by path or folder, brings the reason back.
    given = cli("status", "--account", stranger, "--round-file", "elsewhere/embedded/model-1/round-1.json").output
    assert MALFORMED_REASON in " ".join(given.split())
    assert MALFORMED_REASON in _one_line(cli("claim", "--dev-account", "9", "--model", "1", "--rounds-dir",
                                             "elsewhere", ok=False))
    # An edited copy is not believed: its hash is not the one the chain holds.
    forged = json.loads((tmp_path / "elsewhere/embedded/model-1/round-1.json").read_text())
    next(i for i in forged["body"]["inputs"] if i["id"] == "3")["excluded"] = "malformed: forged reason"
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    shown = cli("status", "--account", stranger, "--round-file", "forged.json")
    assert "forged reason" not in shown.output and "not paid in round 1" in " ".join(shown.output.split())
    assert "forged.json is not the file of the rounds shown" in " ".join(shown.output.split())


def test_a_contribution_valued_at_zero_is_named_with_its_value_and_why(cli: Run, round_one: Path,
                                                                      accounts: Accounts) -> None:
    carol = accounts.carol.address
    valued = next(c for c in json.loads(round_one.read_text())["body"]["contributions"] if c["id"] == "4")
    assert valued["derivative_of"] == "1" and valued["credited_rows"] == "0"
    (model,) = json.loads(cli("status", "--account", carol, "--json").output)
    (result,) = model["contributions"]
    assert result["outcome"] == "valued_zero" and result["derivative_of"] == "1" and result["account_amount"] == "0"
    expected = (f"contribution 4 valued {Decimal(valued['value']):.6f} in round 1: earns nothing (a copy of "
                f"contribution 1; 0 of {valued['rows']} rows credited, left out: {valued['excluded']['copy']} copy)")
    line = _one_line(cli("claim", "--dev-account", "7", "--model", "1", ok=False))
    assert line == f"error: nothing to claim for {carol} on model 1 through round 1: {expected}", line


def test_claim_with_nothing_left_says_how_much_was_claimed_in_token_units(cli: Run, round_one: Path,
                                                                          accounts: Accounts) -> None:
    alice = accounts.alice.address
    body = json.loads(round_one.read_text())["body"]
    amount = int(next(c["amount"] for c in body["cumulative"] if c["account"] == alice))
    (mine,) = json.loads(cli("status", "--json").stdout)  # dev account 5 is alice (stderr says so)
    (result,) = mine["contributions"]
    assert result["outcome"] == "valued" and result["account_amount"] == str(amount)
    valued = next(c for c in body["contributions"] if c["id"] == "1")
    assert result["value"] == valued["value"] and result["rows"] == valued["rows"]
    assert f"valued {Decimal(valued['value']):.6f} in round 1" in " ".join(cli("status").output.split())
    assert "claimed" in cli("claim", "--model", "1").output
    exact = format_amount(amount, exact=True)
    alice_signs = ["--dev-account", "5"]  # named: the notice of a default dev account would be a second line
    assert f"already claimed all its {exact} stake in model 1" in _one_line(cli("claim", "--model", "1", *alice_signs,
                                                                                 ok=False))
    assert f"{alice} claimed {exact} stake" in _one_line(cli("claim", str(round_one), *alice_signs, ok=False))
    line = _one_line(cli("claim", "--all", *alice_signs, ok=False))
    assert line == (f"error: {alice} has nothing to claim on any of the 1 models: model 1: already claimed all "
                    f"{format_amount(amount)} stake (through round 1)"), line


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
        ("contribute",): ["--model", "1", "--public", "--spec", "spec.json", "--dev-account", "7", "carol.csv"],
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
        output = cli(*command, *arguments[command], "--json").stdout  # notes go to stderr
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

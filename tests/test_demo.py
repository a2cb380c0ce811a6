"""`openledger demo` runs end to end and every token it moves is accounted for."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from openledger_chain.cli import main
from openledger_chain.demo import contributor_account, run_demo
from openledger_chain.oracle import read_round_file

TOKEN = 10**18


def test_demo_pays_honest_contributors_and_accounts_for_every_fee(tmp_path: Path) -> None:
    steps: list[str] = []
    result = run_demo(tmp_path, lambda title, rows: steps.append(title))
    assert len(steps) == 7

    round_file = read_round_file(result.round_file)
    assert sum(round_file.cumulative.values()) == 1_000 * TOKEN
    # The label flipper and the copier of alice's rows earn nothing; every honest kind earns stake.
    assert "mallory" not in result.stake and "copycat" not in result.stake
    assert {"alice", "bob", "carol", "annie", "tuner", "gpu", "evaluator"} <= set(result.stake)
    assert sum(result.stake.values()) == 1_000 * TOKEN

    # Payment-token conservation: 150 paid = owner + withdrawn + still withdrawable + held + dust.
    report = result.ledger.fee_report(result.model_id, [contributor_account(n).address for n in result.stake])
    assert report["paid"] == 150 * TOKEN and report["to_owner"] == 105 * TOKEN
    withdrawable = sum(report["holders"].values())
    dust = report["to_holders"] - report["held_for_first_holders"] - withdrawable - result.fees_withdrawn
    assert 0 <= dust <= len(result.stake)


def test_demo_command_prints_its_steps(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "signed by 2 of 3 oracles" in result.output and "demo complete" in result.output


"""`openledger demo` runs end to end and every token it moves is accounted for."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from openledger_chain.cli import main
from openledger_chain.demo import contributor_account, run_demo
from openledger_chain.oracle import read_round_file

TOKEN = 10**18


def test_demo_pays_honest_contributors_over_two_rounds_and_accounts_for_every_fee(tmp_path: Path) -> None:
    steps: list[tuple[str, list]] = []
    result = run_demo(tmp_path, lambda title, rows: steps.append((title, rows)))
    assert len(steps) == 10

    first, second = read_round_file(result.round_file), read_round_file(result.second_round_file)
    assert sum(first.cumulative.values()) == 1_000 * TOKEN and sum(second.cumulative.values()) == 2_000 * TOKEN
    # Cumulative: nobody's leaf shrinks from round 1 to round 2.
    assert all(second.cumulative.get(a, 0) >= v for a, v in first.cumulative.items())
    # The label flipper and the copier of alice's rows earn nothing; every honest kind earns stake, and
    # the newcomer of round 2 too (its claim made from the chain alone).
    assert "mallory" not in result.stake and "copycat" not in result.stake
    assert {"alice", "bob", "carol", "annie", "tuner", "gpu", "evaluator", "dave"} <= set(result.stake)
    assert sum(result.stake.values()) == 2_000 * TOKEN
    assert result.stake["dave"] == second.cumulative[contributor_account("dave").address]
    # Both rounds pass every check of `verify`.
    title, verdicts = steps[-1]
    assert "verifies both rounds" in title and [v["failed"] for v in verdicts] == [0, 0]

    # Payment-token conservation: 200 paid = owner + withdrawn + still withdrawable + held + dust.
    report = result.ledger.fee_report(result.model_id, [contributor_account(n).address for n in result.stake])
    assert report["paid"] == 200 * TOKEN and report["to_owner"] == 140 * TOKEN
    withdrawable = sum(report["holders"].values())
    dust = report["to_holders"] - report["held_for_first_holders"] - withdrawable - result.fees_withdrawn
    assert 0 <= dust <= len(result.stake)


def test_demo_command_prints_its_steps(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "signed by 2 of 3 oracles" in result.output and "demo complete" in result.output
    assert "Round 2 on a fresh evaluation set" in result.output and "every check holds" in result.output


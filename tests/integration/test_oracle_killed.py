"""An oracle SIGKILLed in the middle of `openledger round submit` (a real subprocess, on a real anvil) resumes
on rerun with exactly one round on chain, the same root, and the whole score list published.

The kill points are made exact by anvil's automine switch: the node holds the oracle's transactions in its
pool, and the process is killed while the one we want is there, sent but not mined:
- `submitRound` sent, then mined after the kill (the rerun must not post the round again);
- `submitRound` sent, then dropped from the pool (as a restarting node would): the rerun posts it once;
- a `publishScores` chunk sent and still waiting in the pool while the rerun starts and reads the chain (the
  rerun must wait for it, not send the same chunk again).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_utils import function_abi_to_4byte_selector

from _anvil import COMMITTEE_SETUP, PROJECT_ROOT, running_anvil
from openledger_chain.build import load_artifact
from openledger_chain.chain import connect, dev_accounts
from openledger_chain.cli import main
from openledger_chain.contracts import OpenLedger
from openledger_chain.deployments import load_deployment

EXAMPLE = PROJECT_ROOT / "examples" / "attribution"
ROUND_FILE = "rounds/localhost/model-1/round-1.json"
ORACLE = dev_accounts()[1]
MULTI = {"model", "round", "keys", "node"}


def _cli(url: str, *args: str) -> str:
    split = 2 if args[0] in MULTI else 1
    result = CliRunner().invoke(main, [*args[:split], "--rpc-url", url, *args[split:]])
    assert result.exit_code == 0, result.output
    return result.output


def _rpc(url: str, method: str, *params: object) -> object:
    import urllib.request

    request = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                                      "params": list(params)}).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read()).get("result")


def _selector(name: str) -> str:
    (item,) = [i for i in load_artifact("RewardDistributor").abi if i.get("name") == name and i["type"] == "function"]
    return "0x" + function_abi_to_4byte_selector(item).hex()


def _signed_round(url: str) -> None:
    """Deploy, register a model and three contributions, and propose and sign round 1 (2 of 3 oracles)."""
    _cli(url, "deploy", "--challenge-window", "0")
    for args in COMMITTEE_SETUP:
        _cli(url, *args)
    _cli(url, "model", "register", "--spec", "spec.json")
    for account, name in ((5, "alice.csv"), (6, "bob.csv"), (7, "carol.csv")):
        _cli(url, "contribute", "--model", "1", "--dev-account", str(account), name)
    _cli(url, "node", "advance-time", "--blocks", "256")  # the registrations settle before round 1 counts them
    _cli(url, "round", "commit-eval", "--model", "1", "--round", "1", "eval.csv")
    _cli(url, "round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval.csv")
    _cli(url, "round", "sign", "--spec", "spec.json", "--eval", "eval.csv", ROUND_FILE)
    _cli(url, "round", "sign", "--dev-account", "2", "--spec", "spec.json", "--eval", "eval.csv", ROUND_FILE)


def _submit_command(url: str) -> list[str]:
    # One score entry per transaction: publishing takes several, so there is a middle to be killed in.
    return [sys.executable, "-m", "openledger_chain.cli", "round", "submit", "--rpc-url", url, "--chunk", "1", ROUND_FILE]


def _wait_in_pool(url: str, process: subprocess.Popen[bytes], selector: str) -> dict:
    """The oracle's pending transaction calling `selector`, once the node holds it; earlier ones are mined."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for tx in _rpc(url, "txpool_content")["pending"].get(ORACLE.address.lower(), {}).values():
            if tx["input"].startswith(selector):
                return tx
            _rpc(url, "evm_mine")  # an earlier step (submitRound): let it through
        time.sleep(0.02)
    raise AssertionError(f"no {selector} transaction reached the pool")


@pytest.mark.parametrize("kill_at", ["submitRound mined later", "submitRound dropped", "publishScores pending"])
def test_an_oracle_killed_while_submitting_resumes_with_one_round_and_the_same_root(tmp_path: Path, kill_at: str,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("spec.json", "eval.csv", "alice.csv", "bob.csv", "carol.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    with running_anvil() as url:
        _signed_round(url)
        body = json.loads((tmp_path / ROUND_FILE).read_text())["body"]
        assert len(body["scores"]) >= 3
        _rpc(url, "evm_setAutomine", False)
        env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
        process = subprocess.Popen(_submit_command(url), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        step = "submitRound" if kill_at.startswith("submitRound") else "publishScores"
        held = _wait_in_pool(url, process, _selector(step))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if kill_at == "submitRound mined later":
            _rpc(url, "evm_mine")
            _rpc(url, "evm_setAutomine", True)
        elif kill_at == "submitRound dropped":
            _rpc(url, "anvil_dropTransaction", held["hash"])
            _rpc(url, "evm_setAutomine", True)
        rerun_process = subprocess.Popen(_submit_command(url), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
        try:
            if kill_at == "publishScores pending":
                # The killed run's chunk is still in the pool when the rerun reads the chain. Reading the published
                # count now (0) and sending that chunk again would fail once both are mined: the rerun must wait.
                deadline = time.monotonic() + 6
                while time.monotonic() < deadline and rerun_process.poll() is None:
                    assert len(_rpc(url, "txpool_content")["pending"].get(ORACLE.address.lower(), {})) == 1
                    time.sleep(0.1)
                _rpc(url, "evm_mine")
                _rpc(url, "evm_setAutomine", True)
            stdout, stderr = rerun_process.communicate(timeout=120)
            rerun = subprocess.CompletedProcess(rerun_process.args, rerun_process.returncode, stdout, stderr)
        finally:
            if rerun_process.poll() is None:
                rerun_process.kill()
        assert rerun.returncode == 0, rerun.stderr

        chain = connect("localhost", url)
        ledger = OpenLedger(chain, load_deployment(chain, tmp_path / "deployments"))
        submitted = ledger.events(ledger.distributor.address, ("RoundSubmitted",))
        assert len(submitted) == 1 and submitted[0].args["roundId"] == 1  # exactly one round on chain
        assert submitted[0].args["merkleRoot"] == body["merkleRoot"]
        pending = ledger.pending_round(1)
        assert pending.scores_complete
        assert ledger.score_list(1, pending.scores_publisher).count == len(body["scores"])
        # Every entry published once, in order, from index 0 (no chunk sent twice, none reset).
        published = ledger.events(ledger.distributor.address, ("ScoresPublished",))
        assert [p.args["firstIndex"] for p in published] == list(range(len(body["scores"])))
        assert not ledger.events(ledger.distributor.address, ("ScoresReset",))
        assert "nothing to do" not in rerun.stdout
        _cli(url, "round", "finalize", "--model", "1")
        root, round_id, _, _ = ledger.distributor.functions.finalizedRound(1).call()
        assert (round_id, "0x" + bytes(root).hex()) == (1, body["merkleRoot"])

"""`index run --follow` against a real anvil that goes away: stopped for 60 s and restarted with the same
chain (`--state`), the follower waits (one line when the node goes, one when it is back), resumes and ends
with exactly the rows of a fresh index of that chain. A node restarted without its state (same chain id,
another genesis) and a new deployment are refused in one line with the rows untouched; `--reset` clears
and re-indexes. Ctrl-C/SIGTERM while waiting stops cleanly; without --follow a missing node is one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _anvil import PROJECT_ROOT, start_anvil  # noqa: E402
from _ports import free_port  # noqa: E402
from test_kill_and_reorg import DEV, TOKEN, _index_command, _ledger, _model, _pay, _rows  # noqa: E402

from openledger_chain.chain import connect  # noqa: E402
from openledger_chain.contracts import OpenLedger  # noqa: E402
from openledger_chain.deployments import ensure_deployment  # noqa: E402
from openledger_chain.indexer import open_database, schema  # noqa: E402

OUTAGE_SECONDS = 60.0
ENV = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}


def _checkpoint(db: str) -> int | None:
    try:
        with open_database(db).connect() as c:
            return c.execute(select(schema.checkpoint.c.block_number)).scalar()
    except Exception:  # noqa: BLE001 - the follower may not have created the tables yet
        return None


def _wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _follow(url: str, db: str, cwd: Path) -> tuple[subprocess.Popen[str], Path]:
    """`index run --follow` as a subprocess; its stderr goes to a file the test reads as it grows."""
    errors = cwd / f"follower-{time.monotonic_ns()}.err"
    with errors.open("w") as sink:
        process = subprocess.Popen(_index_command(url, db, "--follow", "--poll", "0.5"), cwd=cwd, env=ENV,
                                   stdout=subprocess.PIPE, stderr=sink, text=True)
    return process, errors


def _lines(errors: Path) -> list[str]:
    """The follower's stderr lines (rich ends its progress display with an empty one when not on a terminal)."""
    return [line for line in errors.read_text().splitlines() if line]


def _stop(process: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=20)


def test_the_follower_waits_out_a_60_s_outage_and_loses_no_row(tmp_path: Path) -> None:
    state, port = tmp_path / "anvil-state.json", free_port()
    node, url = start_anvil(port=port, extra_args=["--state", str(state)])
    follower = None
    try:
        ledger = _ledger(url, tmp_path / "deployments")
        model_id = _model(ledger)
        for i in range(3):
            _pay(ledger, model_id, (i + 1) * TOKEN)
        db = f"sqlite:///{tmp_path / 'followed.db'}"
        follower, errors = _follow(url, db, tmp_path)
        head = ledger.chain.w3.eth.block_number
        _wait_until(lambda: _checkpoint(db) == head, 60, "the follower did not catch up")
        before = _rows(db)
        node.terminate()  # anvil writes its state (blocks included) on the way out
        node.wait(timeout=20)
        stopped = time.monotonic()
        assert state.is_file()
        _wait_until(lambda: "unreachable" in errors.read_text(), 30, "the follower did not notice the outage")
        time.sleep(max(0.0, stopped + OUTAGE_SECONDS - time.monotonic()))
        assert follower.poll() is None, errors.read_text()
        node, _ = start_anvil(port=port, extra_args=["--state", str(state)])
        outage = time.monotonic() - stopped
        ledger = _ledger(url, tmp_path / "deployments")  # the same deployment, still live on the restored chain
        for i in range(2):
            _pay(ledger, model_id, (10 + i) * TOKEN)
        head = ledger.chain.w3.eth.block_number
        _wait_until(lambda: _checkpoint(db) == head, 60, f"the follower did not resume: {errors.read_text()}")
        assert follower.poll() is None
        follower.send_signal(signal.SIGTERM)
        out, _ = follower.communicate(timeout=30)
        assert follower.returncode == 0
        lines = _lines(errors)
        assert "Traceback" not in errors.read_text()
        assert len([line for line in lines if "unreachable" in line]) == 1
        assert len([line for line in lines if line.startswith("node back at block")]) == 1
        followed = _rows(db)
        assert all(before[table] <= followed[table] for table in before)  # nothing lost...
        assert len(followed["usage_payments"]) == 5  # ... and the payments made after the outage are in
        fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
        subprocess.run(_index_command(url, fresh), cwd=tmp_path, env=ENV, check=True, capture_output=True)
        assert followed == _rows(fresh)
        print(f"outage of {outage:.0f} s; follower said:", *lines, out.strip(), sep="\n  ")
    finally:
        if follower is not None:
            _stop(follower)
        _stop(node)


def test_a_changed_chain_or_deployment_is_refused_and_reset_only_on_request(tmp_path: Path) -> None:
    port, deployments = free_port(), tmp_path / "deployments"
    node, url = start_anvil(port=port)
    follower = None
    try:
        ledger = _ledger(url, deployments)
        model_id = _model(ledger)
        for i in range(3):
            _pay(ledger, model_id, (i + 1) * TOKEN)
        db = f"sqlite:///{tmp_path / 'index.db'}"
        follower, errors = _follow(url, db, tmp_path)
        head = ledger.chain.w3.eth.block_number
        _wait_until(lambda: _checkpoint(db) == head, 60, "the follower did not catch up")
        before = _rows(db)
        assert len(before["usage_payments"]) == 3
        # The node is restarted without its state: same chain id, another chain. The follower refuses it.
        _stop(node)
        _wait_until(lambda: "unreachable" in errors.read_text(), 30, "the follower did not notice the outage")
        node, _ = start_anvil(port=port)
        follower.wait(timeout=60)
        said = _lines(errors)
        assert follower.returncode == 1, said
        assert said[-2].startswith("node back at block 0")
        assert said[-1].startswith("error: this database indexes another chain or deployment: the genesis block")
        assert "--reset" in said[-1] and "Traceback" not in errors.read_text()
        assert _rows(db) == before
        # The deployer redeploys (same account, same nonces: the same addresses) and pays once.
        chain = connect("localhost", url)
        again, _ = ensure_deployment(chain, DEV[0], force=True, directory=deployments,
                                     oracles=[a.address for a in DEV[1:4]], threshold=2, challenge_window=0)
        assert again.address("ContributionRegistry") == ledger.registry.address
        ledger = OpenLedger(chain, again)
        _pay(ledger, _model(ledger), 7 * TOKEN)
        refused = subprocess.run(_index_command(url, db), cwd=tmp_path, env=ENV, capture_output=True, text=True)
        assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1, refused.stderr
        assert "the genesis block" in refused.stderr and "--reset" in refused.stderr
        assert _rows(db) == before
        reset = subprocess.run(_index_command(url, db, "--reset"), cwd=tmp_path, env=ENV, capture_output=True,
                               text=True)
        assert reset.returncode == 0, reset.stderr
        assert reset.stderr.startswith("--reset: the genesis block")
        assert f"deleted the index's {sum(map(len, before.values()))} rows" in reset.stderr
        fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
        subprocess.run(_index_command(url, fresh), cwd=tmp_path, env=ENV, check=True, capture_output=True)
        assert _rows(db) == _rows(fresh) and [r[-3] for r in _rows(db)["usage_payments"]] == [7 * TOKEN]
        # Another deployment on this chain (other addresses) is refused too, naming them.
        ensure_deployment(chain, DEV[0], force=True, directory=deployments, oracles=[a.address for a in DEV[1:4]],
                          threshold=2, challenge_window=0)
        kept = _rows(db)
        moved = subprocess.run(_index_command(url, db), cwd=tmp_path, env=ENV, capture_output=True, text=True)
        assert moved.returncode == 1 and len(moved.stderr.splitlines()) == 1, moved.stderr
        assert "in the index," in moved.stderr and "in the deployment file" in moved.stderr
        assert _rows(db) == kept
        print("", *said[-2:], refused.stderr.strip(), reset.stderr.strip(), reset.stdout.strip(),
              moved.stderr.strip(), sep="\n  ")
    finally:
        if follower is not None:
            _stop(follower)
        _stop(node)


def test_stopped_while_waiting_it_exits_cleanly_and_without_follow_no_node_is_one_line(tmp_path: Path) -> None:
    node, url = start_anvil()
    follower = None
    try:
        ledger = _ledger(url, tmp_path / "deployments")
        _pay(ledger, _model(ledger), TOKEN)
        db = f"sqlite:///{tmp_path / 'index.db'}"
        follower, errors = _follow(url, db, tmp_path)
        head = ledger.chain.w3.eth.block_number
        _wait_until(lambda: _checkpoint(db) == head, 60, "the follower did not catch up")
        _stop(node)
        _wait_until(lambda: "unreachable" in errors.read_text(), 30, "the follower did not notice the outage")
        started = time.monotonic()
        follower.send_signal(signal.SIGTERM)
        out, _ = follower.communicate(timeout=10)
        stopped_in = time.monotonic() - started
        assert follower.returncode == 0 and "Traceback" not in errors.read_text()
        assert _lines(errors)[-1] == "stopped; the checkpoint is saved"
        rows = sum(map(len, _rows(db).values()))
        assert out.strip() == f"indexed to block {head} ({rows} rows); the node at {url} does not answer"
        alone = subprocess.run(_index_command(url, db), cwd=tmp_path, env=ENV, capture_output=True, text=True)
        assert alone.returncode == 1 and alone.stderr.splitlines() == [
            f"error: no Ethereum node answers at {url}; check --rpc-url"]
        print(f"stopped {stopped_in:.2f} s after SIGTERM:", out.strip(), alone.stderr.strip(), sep="\n  ")
    finally:
        if follower is not None:
            _stop(follower)
        _stop(node)

"""The indexer against a real anvil node: SIGKILLed in the middle of its work (a real subprocess) and
resumed, it ends with exactly the rows of an uninterrupted run: no gap, no duplicate. A chain
reorganisation at depth 1 and 3 (evm_snapshot / evm_revert, then other transactions on the new branch)
is detected, rolled back and re-indexed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from _anvil import PROJECT_ROOT, running_anvil  # noqa: E402

from openledger_chain.chain import connect, dev_accounts  # noqa: E402
from openledger_chain.contracts import OpenLedger  # noqa: E402
from openledger_chain.deployments import ensure_deployment  # noqa: E402
from openledger_chain.indexer import open_database, schema  # noqa: E402
from openledger_chain.indexer.ingest import Indexer  # noqa: E402
from openledger_chain.types import ModelParams  # noqa: E402

DEV = dev_accounts()
TOKEN = 10**18


def _ledger(url: str, directory: Path) -> OpenLedger:
    chain = connect("localhost", url)
    deployment, _ = ensure_deployment(chain, DEV[0], directory=directory, oracles=[a.address for a in DEV[1:4]],
                                      threshold=2, challenge_window=0)
    return OpenLedger(chain, deployment)


def _model(ledger: OpenLedger) -> int:
    params = ModelParams(b"\x5e" * 32, "ipfs://spec", ledger.dev_payment_token, 3_000, 10**21, 10**24, "S", "S")
    model, _ = ledger.register_model(DEV[4], params)
    token = ledger.erc20(ledger.dev_payment_token)
    ledger.chain.transact(token.functions.mint(DEV[8].address, 10**24), DEV[8])
    ledger.chain.transact(token.functions.approve(ledger.registry.address, 2**256 - 1), DEV[8])
    return model.model_id


def _mine(ledger: OpenLedger, blocks: int) -> None:
    ledger.chain.w3.provider.make_request("anvil_mine", [hex(blocks)])


def _pay(ledger: OpenLedger, model_id: int, amount: int) -> None:
    ledger.chain.transact(ledger.registry.functions.payUsage(model_id, amount), DEV[8])


def _rows(url: str) -> dict[str, set[tuple]]:
    """Every row of every event table (without the surrogate id), as sets."""
    engine = open_database(url)
    with engine.connect() as c:
        return {t.name: {tuple(r)[1:] for r in c.execute(select(t))} for t in schema.EVENT_TABLES}


def _index_command(url: str, db: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "openledger_chain.cli", "index", "run", "--rpc-url", url, "--db", db, *extra]


def test_killed_in_the_middle_and_resumed_it_loses_and_repeats_nothing(tmp_path: Path) -> None:
    with running_anvil() as url:
        ledger = _ledger(url, tmp_path / "deployments")
        model_id = _model(ledger)
        for i in range(12):
            _pay(ledger, model_id, (i + 1) * TOKEN)
            _mine(ledger, 25)
        head = ledger.chain.w3.eth.block_number
        killed_db = f"sqlite:///{tmp_path / 'killed.db'}"
        env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
        process = subprocess.Popen(_index_command(url, killed_db, "--batch-blocks", "1"), cwd=tmp_path, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        engine = open_database(killed_db)
        deadline = time.monotonic() + 120
        checkpoint = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with engine.connect() as c:
                    checkpoint = c.execute(select(schema.checkpoint.c.block_number)).scalar()
            except Exception:  # noqa: BLE001 - the tables may not exist yet
                checkpoint = None
            if checkpoint is not None and checkpoint > head // 3:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the indexer finished before it could be killed; give it more blocks"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert checkpoint is not None and checkpoint < head
        started = time.monotonic()
        subprocess.run(_index_command(url, killed_db), cwd=tmp_path, env=env, check=True, capture_output=True)
        resumed_in = time.monotonic() - started
        clean_db = f"sqlite:///{tmp_path / 'clean.db'}"
        subprocess.run(_index_command(url, clean_db), cwd=tmp_path, env=env, check=True, capture_output=True)
        resumed, clean = _rows(killed_db), _rows(clean_db)
        assert resumed == clean and len(resumed["usage_payments"]) == 12
        print(f"resumed after SIGKILL at block {checkpoint} of {head} in {resumed_in:.2f} s")


@pytest.mark.parametrize("depth", [1, 3])
def test_a_reorganisation_is_rolled_back_and_reindexed(tmp_path: Path, depth: int) -> None:
    with running_anvil() as url:
        ledger = _ledger(url, tmp_path / "deployments")
        model_id = _model(ledger)
        _pay(ledger, model_id, TOKEN)
        w3 = ledger.chain.w3
        snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
        for i in range(depth):  # the branch that will be abandoned: `depth` blocks, one payment each
            _pay(ledger, model_id, (10 + i) * TOKEN)
        engine = open_database(f"sqlite:///{tmp_path / 'index.db'}")
        indexer = Indexer(ledger, engine, batch_blocks=2)
        indexer.run()
        with engine.connect() as c:
            before = sorted(r.amount for r in c.execute(select(schema.usage_payments.c.amount)))
        assert before == [TOKEN] + [(10 + i) * TOKEN for i in range(depth)]
        # The node switches to another branch from the snapshot: other payments, one block longer.
        w3.provider.make_request("evm_revert", [snapshot])
        for i in range(depth + 1):
            _pay(ledger, model_id, (20 + i) * TOKEN)
        indexer.run()
        with engine.connect() as c:
            after = sorted(r.amount for r in c.execute(select(schema.usage_payments.c.amount)))
            indexed = c.execute(select(schema.checkpoint.c.block_number)).scalar()
        assert after == [TOKEN] + [(20 + i) * TOKEN for i in range(depth + 1)]
        assert indexed == w3.eth.block_number
        # And the index equals a fresh index of the new branch.
        fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
        Indexer(ledger, open_database(fresh)).run()
        assert _rows(f"sqlite:///{tmp_path / 'index.db'}") == _rows(fresh)


def test_a_reorganisation_while_a_range_is_read_is_not_stored(ledger, accounts, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Red team: the logs were read from the old branch, then the checkpoint hash from the new one, so no
    later run saw a reorganisation and the orphaned contribution stayed in the index for good. Now the end
    block's hash is compared before and after the read, and the range read again."""
    from eth_utils import keccak
    from sqlalchemy import func, select

    from openledger_chain.indexer import ingest, open_database, schema
    from openledger_chain.indexer.ingest import Indexer
    from openledger_chain.types import ContributionKind, ModelParams

    tester = ledger.chain.w3.provider.ethereum_tester
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(b"spec"), "spec.json", ledger.dev_payment_token or "", 3_000, 10**21, 10**24, "S", "S"))
    engine = open_database(f"sqlite:///{tmp_path / 'index.db'}")
    indexer = Indexer(ledger, engine)
    indexer.run()
    fork_point = tester.take_snapshot()
    ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, keccak(b"orphan"), "a.csv")
    height = ledger.chain.w3.eth.block_number
    real_get_logs, reorganised = ingest.get_logs, []

    def get_logs_then_reorganise(*args, **kwargs):  # type: ignore[no-untyped-def]
        yield from real_get_logs(*args, **kwargs)
        if not reorganised:  # the old branch's logs are read; now the chain switches branch
            reorganised.append(True)
            tester.revert_to_snapshot(fork_point)
            ledger.chain.send_value(accounts.payer, accounts.payer.address, 1)
            tester.mine_blocks(height - ledger.chain.w3.eth.block_number)

    monkeypatch.setattr(ingest, "get_logs", get_logs_then_reorganise)
    indexer.run()
    assert reorganised and ledger.chain.w3.eth.block_number == height
    with engine.connect() as connection:
        indexed = connection.execute(select(func.count()).select_from(schema.contributions)).scalar()
    assert indexed == len(ledger.contributions(model.model_id)) == 0

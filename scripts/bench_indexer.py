"""Indexer throughput and the read speed-up it buys, on a real anvil node with ~100,000 events.

Builds the chain: one model, N contributions registered in batches (a ContributionCommitted and a
ContributionRegistered event each), a round whose score list covers the contributors, usage payments.
Then indexes it into SQLite and into a throwaway PostgreSQL server (events per second), and times the
reads a contributor makes (`status`, `contributions list`) through the index against a chain scan.

    .venv/bin/python scripts/bench_indexer.py [--contributions 50000] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "indexer"), str(REPO / "tests")]

from eth_utils import keccak  # noqa: E402
from web3 import Web3  # noqa: E402

from _postgres import running_postgres  # noqa: E402
from openledger_chain import views  # noqa: E402
from openledger_chain.chain import DEV_MNEMONIC, connect, dev_accounts  # noqa: E402
from openledger_chain.cli.node import find_anvil  # noqa: E402
from openledger_chain.contracts import OpenLedger  # noqa: E402
from openledger_chain.deployments import ensure_deployment  # noqa: E402
from openledger_chain.indexer import open_database  # noqa: E402
from openledger_chain.indexer.ingest import Indexer  # noqa: E402
from openledger_chain.indexer.reads import IndexSource, contributions_or_chain  # noqa: E402
from openledger_chain.types import ContributionKind, ModelParams  # noqa: E402

DEV = dev_accounts()
PER_TX = 500  # registrations per transaction (anvil runs with a 1 G block gas limit)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_chain(url: str, contributions: int, workdir: Path) -> OpenLedger:
    chain = connect("localhost", url)
    deployment, _ = ensure_deployment(chain, DEV[0], directory=workdir, oracles=[a.address for a in DEV[1:4]],
                                      threshold=2, challenge_window=0)
    ledger = OpenLedger(chain, deployment)
    params = ModelParams(b"\x5e" * 32, "ipfs://spec", ledger.dev_payment_token, 3_000, 10**21, 10**24, "B", "B")
    model, _ = ledger.register_model(DEV[4], params)
    contributor = DEV[5]
    started = time.perf_counter()
    for first in range(0, contributions, PER_TX):
        items = [(ContributionKind.DATA, keccak(text=f"bench contribution {i}"), f"ipfs://bench/{i}")
                 for i in range(first, min(first + PER_TX, contributions))]
        ledger.register_contributions(contributor, model.model_id, items)
        log(f"  registered {first + len(items):,} contributions ({time.perf_counter() - started:.0f} s)")
    token = ledger.erc20(ledger.dev_payment_token)
    chain.transact(token.functions.mint(DEV[8].address, 10**24), DEV[8])
    for _ in range(20):
        ledger.pay_usage(DEV[8], model.model_id, 10**18)
    return ledger


def start_anvil(port: int) -> subprocess.Popen[bytes]:
    anvil = find_anvil(REPO)
    process = subprocess.Popen([str(anvil), "--port", str(port), "--mnemonic", DEV_MNEMONIC, "--silent",
                                "--gas-limit", "1000000000", "--code-size-limit", "100000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
    for _ in range(200):
        if w3.is_connected():
            return process
        time.sleep(0.05)
    raise RuntimeError("anvil did not start")


def timed(function, repeat: int = 3) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contributions", type=int, default=50_000, help="two events each (default 50,000)")
    parser.add_argument("--port", type=int, default=8561)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    process = start_anvil(args.port)
    results: dict[str, float | int] = {}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            log(f"building a chain with {args.contributions:,} contributions")
            ledger = build_chain(f"http://127.0.0.1:{args.port}", args.contributions, Path(scratch))
            head = ledger.chain.w3.eth.block_number
            with running_postgres() as server:
                import psycopg

                with psycopg.connect(server.replace("postgresql+psycopg", "postgresql") + "/postgres",
                                     autocommit=True) as connection:
                    connection.execute("CREATE DATABASE bench")
                for name, url in (("sqlite", f"sqlite:///{scratch}/index.db"), ("postgresql", f"{server}/bench")):
                    engine = open_database(url)
                    indexer = Indexer(ledger, engine)
                    started = time.perf_counter()
                    indexer.run()
                    seconds = time.perf_counter() - started
                    rows = indexer.status().rows
                    events = rows["contributions"] + rows["commitments"] + rows["usage_payments"] + \
                        rows["fee_events"] + rows["models"]
                    results[f"{name}_events"] = events
                    results[f"{name}_seconds"] = round(seconds, 2)
                    results[f"{name}_events_per_second"] = round(events / seconds)
                    log(f"{name}: {events:,} events in {seconds:.1f} s = {events / seconds:,.0f} events/s")
                    account = DEV[5].address
                    chain_list = timed(lambda: ledger.contributions(1), repeat=1)
                    db_list = timed(lambda engine=engine: contributions_or_chain(ledger, 1, engine))
                    chain_status = timed(lambda: views.account_status(ledger, account))
                    db_status = timed(lambda engine=engine: views.account_status(ledger, account,
                                                                                IndexSource(ledger, engine)))
                    results |= {f"{name}_contributions_list_s": round(db_list, 3),
                                f"chain_contributions_list_s": round(chain_list, 3),
                                f"{name}_status_s": round(db_status, 3), "chain_status_s": round(chain_status, 3)}
                    log(f"{name}: contributions list {db_list:.3f} s vs chain scan {chain_list:.3f} s "
                        f"({chain_list / db_list:.0f}x); status {db_status:.3f} s vs {chain_status:.3f} s")
            results["head"] = head
    finally:
        process.terminate()
    print(json.dumps(results, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in results.items()))


if __name__ == "__main__":
    main()

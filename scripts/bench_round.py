"""A whole attribution round at scale, end to end on its own anvil node, timed step by step.

Synthetic contributors (deterministic keys; rows drawn from scikit-learn's breast-cancer data with a
little noise) register through `registerContributionsFor` (a relayer pays: commitments, then batches of
signed registrations, each transaction sized by gas to --gas-fraction of the block gas limit);
then the round runs through the CLI as operators run it: commit-eval, propose, sign (2 oracles),
submit, finalize. Prints, per size: seconds per step, peak memory of propose, gas and transactions of
submit and of onboarding.

    .venv/bin/python scripts/bench_round.py --contributors 1000 --rows 100000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from eth_account import Account
from eth_utils import keccak
from sklearn.datasets import load_breast_cancer
from web3 import Web3

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "attribution"
sys.path.insert(0, str(REPO))

from openledger_chain.chain import DEV_MNEMONIC, connect, dev_accounts  # noqa: E402
from openledger_chain.cli.node import find_anvil  # noqa: E402
from openledger_chain.contracts import OpenLedger, new_salt  # noqa: E402
from openledger_chain.deployments import ensure_deployment  # noqa: E402
from openledger_chain.types import ContributionKind, ModelParams  # noqa: E402

DEV = dev_accounts()
# Commitments expire after REVEAL_PERIOD_BLOCKS (256): onboard in groups whose commitments and batched
# registrations all land well within that many blocks (a group of 2,500 takes about 15 blocks).
GROUP = 2_500
# Onboarding and publishing fill this fraction of the block gas limit per transaction: the bench's anvil
# has no other traffic. The toolkit's default is half the block (the EIP-1559 target), for public chains.
GAS_FRACTION = 0.9


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def write_contributions(folder: Path, contributors: int, rows: int) -> list[Path]:
    data = load_breast_cancer()
    header = (EXAMPLE / "eval.csv").read_text().splitlines()[0].split(",")
    x, y = data.data[:, : len(header) - 1], data.target
    rng = np.random.default_rng(0)
    per = max(rows // contributors, 1)
    paths = []
    for i in range(contributors):
        pick = rng.integers(0, len(y), per)
        noisy = x[pick] * (1 + rng.normal(scale=0.05, size=(per, x.shape[1])))
        path = folder / f"c{i}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows([*(f"{v:.6g}" for v in row), int(label)] for row, label in zip(noisy, y[pick]))
        paths.append(path)
    return paths


def onboard(ledger: OpenLedger, model_id: int, paths: list[Path], gas_target: int) -> tuple[int, int]:
    """Register every file for its own contributor through a relayer, in batches of signed registrations
    (`registerContributionsFor`) sized to `gas_target`; returns (transactions, gas)."""
    relayer = DEV[9]
    keys = [Account.from_key(keccak(text=f"bench round contributor {i}")) for i in range(len(paths))]
    items = [(key, path, keccak(path.read_bytes()), new_salt()) for key, path in zip(keys, paths, strict=True)]
    receipts = []
    started = time.perf_counter()
    for first in range(0, len(items), GROUP):
        group = items[first: first + GROUP]
        receipts += ledger.commit_many(relayer, [ledger.commitment(model_id, k.address, ContributionKind.DATA, h, s)
                                                 for k, _, h, s in group], gas_target=gas_target)
        # Each contributor signs once its commitment is mined (nonce 0: its first relayed registration).
        signed = [ledger.sign_registration(k, model_id, ContributionKind.DATA, h, path.name, s, deadline=2**40, nonce=0)
                  for k, path, h, s in group]
        receipts += ledger.register_contributions_for(relayer, model_id, signed, gas_target=gas_target).receipts
        log(f"  {first + len(group):,} contributors registered in {len(receipts)} transactions "
            f"({time.perf_counter() - started:.0f} s)")
    return len(receipts), sum(int(r["gasUsed"]) for r in receipts)


def cli(url: str, folder: Path, *args: str) -> tuple[float, str]:
    env = os.environ | {"OPENLEDGER_RPC_URL": url, "COLUMNS": "200"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "openledger_chain.cli", *args], cwd=folder, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openledger {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - started, result.stdout


def run(contributors: int, rows: int, port: int, gas_fraction: float = GAS_FRACTION) -> dict[str, float | int]:
    anvil = subprocess.Popen([str(find_anvil(REPO)), "--port", str(port), "--mnemonic", DEV_MNEMONIC, "--silent",
                              "--gas-limit", "30000000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while not Web3(Web3.HTTPProvider(url)).is_connected():
            time.sleep(0.05)
        folder = Path(tempfile.mkdtemp(prefix="bench-round-"))
        for name in ("spec.json", "eval.csv"):
            shutil.copyfile(EXAMPLE / name, folder / name)
        chain = connect("localhost", url)
        deployment, _ = ensure_deployment(chain, DEV[0], directory=folder / "deployments",
                                          oracles=[a.address for a in DEV[1:4]], threshold=2, challenge_window=0)
        ledger = OpenLedger(chain, deployment)
        spec = folder / "spec.json"
        model, _ = ledger.register_model(DEV[4], ModelParams(keccak(spec.read_bytes()), spec.as_uri(),
                                                             ledger.dev_payment_token, 3_000, 10**21, 10**24, "B", "B"))
        log(f"{contributors:,} contributors x {rows:,} rows: writing files, onboarding")
        paths = write_contributions(folder, contributors, rows)
        started = time.perf_counter()
        gas_target = int(chain.block_gas_limit * gas_fraction)
        onboard_txs, onboard_gas = onboard(ledger, model.model_id, paths, gas_target)
        result: dict[str, float | int] = {"contributors": contributors, "rows": rows,
                                          "onboard_s": round(time.perf_counter() - started, 1),
                                          "onboard_txs": onboard_txs, "onboard_gas_per_contributor":
                                          onboard_gas // contributors}
        round_file = "rounds/localhost/model-1/round-1.json"
        steps = [("commit_eval", ["round", "commit-eval", "--model", "1", "--round", "1", "eval.csv"]),
                 ("propose", ["round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval.csv"]),
                 ("sign_1", ["round", "sign", round_file]),
                 ("sign_2", ["round", "sign", "--dev-account", "2", round_file]),
                 ("submit", ["round", "submit", "--gas-target", str(gas_target), round_file]),
                 ("finalize", ["round", "finalize", "--model", "1"])]
        block_before_submit = 0
        for name, args in steps:
            if name == "submit":
                block_before_submit = chain.w3.eth.block_number
            seconds, _ = cli(url, folder, *args)
            result[f"{name}_s"] = round(seconds, 1)
            if name == "propose":
                result["propose_peak_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
            log(f"  {name}: {seconds:.1f} s")
        submit_blocks = range(block_before_submit + 1, chain.w3.eth.block_number + 1)
        receipts = [r for b in submit_blocks for r in chain.w3.eth.get_block_receipts(b)]
        result["submit_txs"] = len(receipts) - 1  # the last block is finalize's
        result["publish_entries_per_tx"] = contributors // max(len(receipts) - 2, 1)
        result["submit_gas"] = sum(int(r["gasUsed"]) for r in receipts[:-1])
        result["round_s"] = round(sum(float(result[f"{n}_s"]) for n, _ in steps if n != "commit_eval"), 1)
        shutil.rmtree(folder, ignore_errors=True)
        return result
    finally:
        anvil.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contributors", type=int, nargs="+", default=[1000])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000], help="total rows, one per size")
    parser.add_argument("--port", type=int, default=8563)
    parser.add_argument("--gas-fraction", type=float, default=GAS_FRACTION,
                        help="fraction of the block gas limit per onboarding and publishing transaction; above "
                             "0.5 (EIP-1559's target) the base fee climbs ~10%% a block while onboarding, and past "
                             "~50,000 contributors the relayer's 10,000 ETH run out: use 0.5 there")
    args = parser.parse_args()
    rows = args.rows if len(args.rows) == len(args.contributors) else [args.rows[0]] * len(args.contributors)
    for contributors, total in zip(args.contributors, rows, strict=True):
        print(json.dumps(run(contributors, total, args.port, args.gas_fraction)), flush=True)


if __name__ == "__main__":
    main()

"""A whole attribution round at scale, end to end on its own anvil node, timed step by step.

Synthetic contributors (deterministic keys; rows drawn from scikit-learn's breast-cancer data with a
little noise) register through `registerContributionsFor` (a relayer pays: commitments, then batches of
signed registrations, each transaction sized by gas to --gas-fraction of the block gas limit);
then the round runs through the CLI as operators run it: commit-eval, propose, sign (2 oracles),
submit, the guardian's `verify` (recomputing the round, from its own cache), finalize. Prints, per size:
seconds (wall and CPU) per step, peak memory of propose, of each sign and of verify, gas and transactions
of submit and of onboarding.

Each size runs twice by default, on the same files: plaintext (registered as they are), then encrypted to the
committee as `openledger contribute` does by default. With encryption, after deploy each committee member
(dev accounts 0, the guardian, and 1-3, the oracles) publishes its encryption key and oracle 1 starts the
committee key's epoch (`keys rewrap`); each contributor's file is encrypted to the epoch key
(`encrypt_file`, c<i>.csv.age; the plaintext is then deleted) and registered with the .age file's URI and
the keccak256 of its plaintext; propose and sign (which reruns the attribution: --spec/--eval) open the files
with the dev oracles' derived keys, as on any local chain. Each variant fetches into fresh caches
(OPENLEDGER_CACHE_DIR): one for oracle 1, which proposes, signs and submits, and one for oracle 2, which
signs from another machine, so decryption is really measured. At the end, a table
per size: seconds per step of each variant (the median of --repeat runs) and the encrypted / plaintext
ratio of propose and of the whole round. Copy detection's neighbour search makes propose vary by 10-20% run
to run on a shared machine, more than encryption costs; so each run also times, in this process and best of
3, what propose does before the attribution (`fetch_s`: the oracle's committee keys, then `gather_manifest`
fetching, checking and opening every file into a fresh cache): the difference between the variants is the
cost of encryption without that noise.

    .venv/bin/python scripts/bench_round.py --contributors 1000 --rows 100000             # both variants
    .venv/bin/python scripts/bench_round.py --contributors 1000 --rows 100000 --encrypted # encrypted only
    .venv/bin/python scripts/bench_round.py --attribute-only --contributors 100000 --rows 1000000 --eval-rows 1000
                                                     # no chain: attribute() as propose and sign run it
    .venv/bin/python scripts/bench_round.py --contributors 100000 --rows 1000000 --eval-rows 1000 --plaintext \
        --gas-fraction 0.5 --publish-gas-fraction 0.9 --fetch-runs 1 --keep ~/bench-100k
                                                     # onboards once (~35 min), keeps the chain; runs again time
                                                     # only the round's steps, from the kept chain
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from eth_account import Account
from eth_utils import keccak
from sklearn.datasets import load_breast_cancer
from web3 import Web3

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "attribution"
sys.path.insert(0, str(REPO))

from openledger_chain.chain import DEV_MNEMONIC, Chain, connect, dev_accounts  # noqa: E402
from openledger_chain.cli.node import find_anvil  # noqa: E402
from openledger_chain.committee import committee_identities, contributor_recipient, read_committee, rewrap  # noqa: E402
from openledger_chain.confidential import dev_identity, encrypt_file, recipient_of  # noqa: E402
from openledger_chain.fetch import FetchSettings  # noqa: E402
from openledger_chain.oracle import gather_manifest  # noqa: E402
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


def write_eval(folder: Path, rows: int | None) -> None:
    """The round's evaluation set: the example's eval.csv (150 rows), or `rows` rows drawn like the contributions
    (breast-cancer rows with 5% noise, another seed)."""
    if rows is None:
        shutil.copyfile(EXAMPLE / "eval.csv", folder / "eval.csv")
        return
    data = load_breast_cancer()
    header = (EXAMPLE / "eval.csv").read_text().splitlines()[0].split(",")
    x, y = data.data[:, : len(header) - 1], data.target
    rng = np.random.default_rng(123)
    pick = rng.integers(0, len(y), rows)
    noisy = x[pick] * (1 + rng.normal(scale=0.05, size=(rows, x.shape[1])))
    with (folder / "eval.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows([*(f"{v:.6g}" for v in row), int(label)] for row, label in zip(noisy, y[pick]))


def attribute_only(contributors: int, rows: int, eval_rows: int | None) -> dict[str, float | int | str]:
    """What propose and each sign compute, without a chain: `attribute()` in this process over the same files
    (wall and CPU seconds, peak RSS, and the report's hash, to compare two runs bit for bit)."""
    import hashlib
    import resource

    from openledger_chain.attribution.engine import attribute

    folder = Path(tempfile.mkdtemp(prefix="bench-attribute-"))
    try:
        shutil.copyfile(EXAMPLE / "spec.json", folder / "spec.json")
        write_eval(folder, eval_rows)
        started = time.perf_counter()
        paths = write_contributions(folder, contributors, rows)
        log(f"  wrote {len(paths):,} files in {time.perf_counter() - started:.0f} s")
        manifest = [{"id": f"c{i}", "contributor": "0x" + f"{i + 1:040x}", "kind": "data", "path": path.name}
                    for i, path in enumerate(paths)]
        spec = json.loads((folder / "spec.json").read_text())
        wall, cpu = time.perf_counter(), time.process_time()
        report = attribute(spec, manifest, folder / "eval.csv", base_dir=folder, emission=10**21, exclude_malformed=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        digest = hashlib.sha256(json.dumps(report.to_json(), sort_keys=True, default=str).encode()).hexdigest()
        return {"contributors": contributors, "rows": rows, "eval_rows": eval_rows or 150, "attribute_s": round(wall, 1),
                "attribute_cpu_s": round(cpu, 1), "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "revalued_without": len(report.method.get("revalued_without", [])), "report_sha256": digest}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def setup_committee(ledger: OpenLedger) -> str:
    """Each committee member (dev account 0, the guardian; 1-3, the oracles) publishes its derived encryption key,
    then oracle 1 starts the committee key's first epoch; returns the recipient contributors encrypt to."""
    for member in DEV[0:4]:
        ledger.publish_encryption_key(member, recipient_of(dev_identity(bytes(member.key))))
    oracle = DEV[1]
    rewrap(ledger, oracle, dev_identity(bytes(oracle.key)), read_committee(ledger))
    _, recipient = contributor_recipient(read_committee(ledger))
    return recipient


def encrypt_contributions(paths: list[Path], recipient: str) -> list[tuple[Path, bytes]]:
    """Encrypt each file to `recipient` into <name>.age, as `openledger contribute` does, and delete the plaintext
    (the oracles must decrypt); returns (encrypted file, keccak256 of the plaintext) per file."""
    sealed = []
    for path in paths:
        content_hash = keccak(path.read_bytes())
        target = path.with_name(path.name + ".age")
        encrypt_file(path, target, recipient)
        path.unlink()
        sealed.append((target, content_hash))
    return sealed


def onboard(ledger: OpenLedger, model_id: int, files: list[tuple[Path, bytes]], gas_target: int) -> tuple[int, int]:
    """Register every file (its name as URI, with its content hash) for its own contributor through a relayer, in
    batches of signed registrations (`registerContributionsFor`) sized to `gas_target`; returns (transactions,
    gas).

    Pipelined, as a relayer serving many contributors works: while one group's registrations are relayed, the next
    group's commitments are already mined and its contributors sign (each on its own machine; here a thread, which
    runs while the relayer waits for the node). A group's registrations land about two groups' blocks after its
    commitments, well within the 256-block reveal period."""
    relayer = DEV[9]
    keys = [Account.from_key(keccak(text=f"bench round contributor {i}")) for i in range(len(files))]
    items = [(key, path, h, new_salt()) for key, (path, h) in zip(keys, files, strict=True)]
    groups = [items[first: first + GROUP] for first in range(0, len(items), GROUP)]
    receipts: list = []
    started = time.perf_counter()

    def commit(group: list) -> None:
        receipts.extend(ledger.commit_many(relayer, [ledger.commitment(model_id, k.address, ContributionKind.DATA, h, s)
                                                     for k, _, h, s in group], gas_target=gas_target))

    def sign(group: list) -> list:
        # Each contributor signs once its commitment is mined (nonce 0: its first relayed registration).
        return [ledger.sign_registration(k, model_id, ContributionKind.DATA, h, path.name, s, deadline=2**40, nonce=0)
                for k, path, h, s in group]

    commit(groups[0])
    done = 0
    with ThreadPoolExecutor(max_workers=1) as contributors:
        signing = contributors.submit(sign, groups[0])
        for index, group in enumerate(groups):
            if index + 1 < len(groups):
                commit(groups[index + 1])
            signed = signing.result()
            if index + 1 < len(groups):
                signing = contributors.submit(sign, groups[index + 1])
            receipts.extend(ledger.register_contributions_for(relayer, model_id, signed, gas_target=gas_target).receipts)
            done += len(group)
            log(f"  {done:,} contributors registered in {len(receipts)} transactions "
                f"({time.perf_counter() - started:.0f} s)")
    return len(receipts), sum(int(r["gasUsed"]) for r in receipts)


def time_fetch(ledger: OpenLedger, model_id: int, folder: Path, runs: int = 3) -> float:
    """Best seconds of what propose does before the attribution to get its inputs, in this process (no CLI start-up,
    no copy-detection noise): oracle 1's committee keys from the chain (read_committee, unwrap), then
    `gather_manifest` (registrations from the chain, every file fetched, checked, and opened if encrypted) into a
    fresh cache each run (not the CLI steps' caches)."""
    best = float("inf")
    for run_index in range(runs):
        started = time.perf_counter()
        identities = committee_identities(ledger, dev_identity(bytes(DEV[1].key)))
        manifest, _ = gather_manifest(ledger, model_id, FetchSettings(base_dir=folder, identities=identities,
                                                                      cache_dir=folder / f"cache-fetch-{run_index}"))
        best = min(best, time.perf_counter() - started)
        assert len(manifest) == len(list(folder.glob("c*.csv*"))), "a contribution was left out"
    return best


def cli(url: str, folder: Path, cache: Path, *args: str,
        profile: Path | None = None) -> tuple[float, float, float, str]:
    """Run `openledger ARGS` in `folder` with `cache` as OPENLEDGER_CACHE_DIR (under cProfile into `profile`, if
    given); returns (wall seconds, CPU seconds (user + system), peak MB of that process (wait4's ru_maxrss), its
    stdout). CPU seconds vary less than wall time when other work shares the machine's cores."""
    env = os.environ | {"OPENLEDGER_RPC_URL": url, "COLUMNS": "200", "OPENLEDGER_CACHE_DIR": str(cache)}
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile is not None else []
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, *profiler, "-m", "openledger_chain.cli", *args], cwd=folder,
                                   env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"openledger {' '.join(args)} failed:\n{stdout}\n{stderr}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout


def onboard_fresh(chain: Chain, folder: Path, shape: dict, gas_fraction: float) -> tuple[OpenLedger, int, dict[str, float | int | str]]:
    """Deploy, register the model, write (and with the encrypted variant, encrypt) every contributor's file into
    `folder`, onboard them all, and let the registrations settle; returns (ledger, model id, onboarding figures)."""
    shutil.copyfile(EXAMPLE / "spec.json", folder / "spec.json")
    write_eval(folder, shape["eval_rows"])
    deployment, _ = ensure_deployment(chain, DEV[0], directory=folder / "deployments",
                                      oracles=[a.address for a in DEV[1:4]], threshold=2, challenge_window=0)
    ledger = OpenLedger(chain, deployment)
    spec = folder / "spec.json"
    model, _ = ledger.register_model(DEV[4], ModelParams(keccak(spec.read_bytes()), spec.as_uri(),
                                                         ledger.dev_payment_token, 3_000, 10**21, 10**24, "B", "B"))
    contributors, variant = shape["contributors"], shape["variant"]
    log(f"{contributors:,} contributors x {shape['rows']:,} rows, {variant}: writing files, onboarding")
    result: dict[str, float | int | str] = {"variant": variant, "contributors": contributors, "rows": shape["rows"]}
    paths = write_contributions(folder, contributors, shape["rows"])
    if variant == "encrypted":
        started = time.perf_counter()
        recipient = setup_committee(ledger)
        result["committee_keys_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        files = encrypt_contributions(paths, recipient)
        result["encrypt_files_s"] = round(time.perf_counter() - started, 2)
        log(f"  committee keys {result['committee_keys_s']} s; encrypted {len(files):,} files in "
            f"{result['encrypt_files_s']} s")
    else:
        files = [(path, keccak(path.read_bytes())) for path in paths]
    started = time.perf_counter()
    onboard_txs, onboard_gas = onboard(ledger, model.model_id, files, int(chain.block_gas_limit * gas_fraction))
    result |= {"onboard_s": round(time.perf_counter() - started, 1), "onboard_txs": onboard_txs,
               "onboard_gas_per_contributor": onboard_gas // contributors}
    # The registrations settle (ContributionRegistry.REVEAL_PERIOD_BLOCKS) before propose. In steps: with 10,000
    # contributions' state a loaded anvil took over 30 s (the RPC timeout) to mine 256 blocks in one call.
    for _ in range(256 // 16):
        chain.mine_blocks(16)
    return ledger, model.model_id, result


# What --keep holds: the chain's state once onboarded (anvil_dumpState's gzipped JSON, unzipped for anvil's
# --load-state: anvil_loadState refuses a request that large, "Invalid request" at 248 MB), the run's folder then
# (files, spec, evaluation set, deployment), and the run's shape with its onboarding figures.
KEPT_STATE, KEPT_FOLDER, KEPT_SHAPE = "anvil-state.json", "folder", "shape.json"


def save_onboarded(chain: Chain, keep: Path, folder: Path, shape: dict, result: dict) -> None:
    """Keep the onboarded chain and files in `keep`, so that later runs time the round's steps without onboarding
    again (100,000 contributors take ~37 min to onboard here)."""
    keep.mkdir(parents=True, exist_ok=True)
    state = gzip.decompress(bytes.fromhex(chain.w3.provider.make_request("anvil_dumpState", [])["result"][2:]))
    (keep / KEPT_STATE).write_bytes(state)
    shutil.copytree(folder, keep / KEPT_FOLDER, dirs_exist_ok=True)
    (keep / KEPT_SHAPE).write_text(json.dumps({"shape": shape, "onboarding": result}, indent=1))
    log(f"  kept the onboarded chain ({len(state) / 1e6:.0f} MB) and files in {keep}")


def restore_onboarded(chain: Chain, keep: Path, folder: Path, kept: dict) -> dict[str, float | int | str]:
    """Copy what save_onboarded kept into `folder` (anvil was started from the kept state; `kept`: its shape.json);
    returns the onboarding figures (measured when it was kept)."""
    shape = kept["shape"]
    if chain.w3.eth.block_number == 0:
        raise SystemExit(f"anvil did not load {keep / KEPT_STATE} (the chain is at block 0): delete {keep} and onboard again")
    shutil.copytree(keep / KEPT_FOLDER, folder, dirs_exist_ok=True)
    log(f"{shape['contributors']:,} contributors x {shape['rows']:,} rows, {shape['variant']}: onboarded chain "
        f"loaded from {keep} (onboarding took {kept['onboarding']['onboard_s']} s when it was kept)")
    return dict(kept["onboarding"])


def run(contributors: int, rows: int, port: int, gas_fraction: float = GAS_FRACTION, encrypted: bool = False,
        profile_dir: Path | None = None, eval_rows: int | None = None,
        fetch_runs: int = 3, keep: Path | None = None, publish_gas_fraction: float | None = None) -> dict[str, float | int | str]:
    # --prune-history: anvil otherwise writes every past block's whole state to ~/.foundry/anvil/tmp once its memory
    # holds enough of them; with 100,000 contributors that filled 73 GB (the disk) during onboarding. The round reads
    # state only at recent blocks (verify checks the signers at the submission's block, ~20 blocks back).
    variant = "encrypted" if encrypted else "plaintext"
    shape = {"variant": variant, "contributors": contributors, "rows": rows, "eval_rows": eval_rows}
    if keep is not None and (keep / KEPT_SHAPE).is_file():
        # One variant's own folder: onboarding again would put a second 750 MB chain inside it.
        raise SystemExit(f"{keep} is the folder of one kept variant; give the folder above it (--keep {keep.parent}), "
                         f"to which the variant's name ({variant}) is added")
    keep = keep / variant if keep is not None else None
    kept = json.loads((keep / KEPT_SHAPE).read_text()) if keep is not None and (keep / KEPT_SHAPE).is_file() else None
    if kept is not None and kept["shape"] != shape:
        raise SystemExit(f"{keep} holds an onboarded chain of {kept['shape']}, not {shape}: give the same sizes, or "
                         "another --keep")
    anvil = subprocess.Popen([str(find_anvil(REPO)), "--port", str(port), "--mnemonic", DEV_MNEMONIC, "--silent",
                              "--gas-limit", "30000000", "--prune-history", "64",
                              *(["--load-state", str(keep / KEPT_STATE)] if keep is not None and kept is not None else [])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while not Web3(Web3.HTTPProvider(url)).is_connected():
            time.sleep(0.05)
        folder = Path(tempfile.mkdtemp(prefix="bench-round-"))
        chain = connect("localhost", url)
        if keep is not None and kept is not None:
            result = restore_onboarded(chain, keep, folder, kept)
            deployment, _ = ensure_deployment(chain, DEV[0], directory=folder / "deployments")
            ledger = OpenLedger(chain, deployment)
            model_id = 1
        else:
            ledger, model_id, result = onboard_fresh(chain, folder, shape, gas_fraction)
            if keep is not None:
                save_onboarded(chain, keep, folder, shape, result)
        gas_target = int(chain.block_gas_limit * (publish_gas_fraction or gas_fraction))
        if fetch_runs:
            result["fetch_s"] = round(time_fetch(ledger, model_id, folder, fetch_runs), 2)
            log(f"  fetch (in this process, best of {fetch_runs}): {result['fetch_s']} s")
        round_file = "rounds/localhost/model-1/round-1.json"
        check = ["--spec", "spec.json", "--eval", "eval.csv"]  # sign reruns the attribution before it signs
        steps = [("commit_eval", ["round", "commit-eval", "--model", "1", "--round", "1", "eval.csv"]),
                 ("propose", ["round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval.csv"]),
                 ("sign_1", ["round", "sign", *check, round_file]),
                 ("sign_2", ["round", "sign", "--dev-account", "2", *check, round_file]),
                 ("submit", ["round", "submit", "--gas-target", str(gas_target), round_file]),
                 # The guardian (dev account 0) checks the pending round, recomputing it, as it would before a veto.
                 ("verify", ["verify", *check, "--dev-account", "0", round_file]),
                 ("finalize", ["round", "finalize", "--model", "1"])]
        # Fresh caches: oracle 1 proposes, signs and submits from one machine; oracle 2 signs from another; the
        # guardian verifies from a third.
        caches = {"sign_2": folder / "cache-oracle-2", "verify": folder / "cache-guardian"}
        block_before_submit = 0
        for name, args in steps:
            if name == "submit":
                block_before_submit = chain.w3.eth.block_number
            profile = None
            if profile_dir is not None and name in ("propose", "sign_2"):
                profile_dir.mkdir(parents=True, exist_ok=True)
                profile = (profile_dir / f"{name}-{variant}-{contributors}x{rows}.prof").resolve()
            seconds, cpu, peak, _ = cli(url, folder, caches.get(name, folder / "cache-oracle-1"), *args,
                                        profile=profile)
            result[f"{name}_s"] = round(seconds, 1)
            result[f"{name}_cpu_s"] = round(cpu, 1)
            if name in ("propose", "sign_1", "sign_2", "verify"):
                result[f"{name}_peak_mb"] = round(peak)
            if name == "propose":  # every contribution fetched (and opened): nothing excluded
                inputs = json.loads((folder / round_file).read_text())["body"]["inputs"]
                excluded = [i for i in inputs if "excluded" in i]
                if len(inputs) != contributors or excluded:
                    raise RuntimeError(f"propose used {len(inputs) - len(excluded)} of {contributors} contributions; "
                                       f"first left out: {excluded[:1]}")
            log(f"  {name}: {seconds:.1f} s ({cpu:.1f} s CPU)")
        submit_blocks = range(block_before_submit + 1, chain.w3.eth.block_number + 1)
        receipts = [r for b in submit_blocks for r in chain.w3.eth.get_block_receipts(b)]
        result["submit_txs"] = len(receipts) - 1  # the last block is finalize's
        result["publish_entries_per_tx"] = contributors // max(len(receipts) - 2, 1)
        result["submit_gas"] = sum(int(r["gasUsed"]) for r in receipts[:-1])
        operators = [n for n, _ in steps if n not in ("commit_eval", "verify")]  # the guardian's verify is not a step of the round
        result["round_s"] = round(sum(float(result[f"{n}_s"]) for n in operators), 1)
        result["round_cpu_s"] = round(sum(float(result[f"{n}_cpu_s"]) for n in operators), 1)
        shutil.rmtree(folder, ignore_errors=True)
        return result
    finally:
        anvil.terminate()
        anvil.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contributors", type=int, nargs="+", default=[1000])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000], help="total rows, one per size")
    parser.add_argument("--port", type=int, default=8563)
    parser.add_argument("--gas-fraction", type=float, default=GAS_FRACTION,
                        help="fraction of the block gas limit per onboarding (and publishing) transaction; above "
                             "0.5 (EIP-1559's target) the base fee climbs ~10%% a block while onboarding, and past "
                             "~50,000 contributors the relayer's 10,000 ETH run out: use 0.5 there")
    parser.add_argument("--publish-gas-fraction", type=float, default=None,
                        help="the same for publishing the score list (default: --gas-fraction). At 100,000 "
                             "contributors anvil takes ~1.6 s per block however little it holds (it rebuilds its "
                             "whole state trie each block), so submit's time is mostly its number of blocks")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--encrypted", action="store_true", help="only the variant encrypted to the committee")
    only.add_argument("--plaintext", action="store_true", help="only the plaintext variant")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each variant, in ABBA order (plaintext, encrypted, encrypted, plaintext, ...); "
                             "the table shows medians")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="run propose and the second sign under cProfile, writing <step>-<variant>-<size>.prof "
                             "into DIR (slower: for finding where the time goes, not for the figures)")
    parser.add_argument("--eval-rows", type=int, default=None,
                        help="evaluation rows, drawn like the contributions (default: the example's eval.csv, 150 rows)")
    parser.add_argument("--fetch-runs", type=int, default=3,
                        help="runs of the in-process fetch timing (best of; 0 skips it: at 10,000+ contributors each run "
                             "fetches every file again)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep the onboarded chain and files in DIR/plaintext (or DIR/encrypted), or, when that already "
                             "holds them (same sizes), start from them: the round's steps timed again without onboarding")
    parser.add_argument("--attribute-only", action="store_true",
                        help="no chain: write the files and run attribute() in this process, what propose and each sign "
                             "compute (seconds, peak memory, the report's hash)")
    args = parser.parse_args()
    if args.attribute_only:
        rows = args.rows if len(args.rows) == len(args.contributors) else [args.rows[0]] * len(args.contributors)
        for contributors, total in zip(args.contributors, rows, strict=True):
            print(json.dumps(attribute_only(contributors, total, args.eval_rows)), flush=True)
        return
    variants = [True] if args.encrypted else [False] if args.plaintext else [False, True]
    rows = args.rows if len(args.rows) == len(args.contributors) else [args.rows[0]] * len(args.contributors)
    for contributors, total in zip(args.contributors, rows, strict=True):
        results: dict[bool, list[dict[str, float | int | str]]] = {v: [] for v in variants}
        for index in range(args.repeat):
            # ABBA order (plaintext first, then encrypted first, ...): a machine that slows down or speeds up
            # during the runs does not favour the variant that always runs first.
            for encrypted in variants if index % 2 == 0 else variants[::-1]:
                result = run(contributors, total, args.port, args.gas_fraction, encrypted, args.profile, args.eval_rows,
                             args.fetch_runs, args.keep, args.publish_gas_fraction)
                results[encrypted].append(result)
                print(json.dumps(result), flush=True)
        print_comparison(contributors, total, results)


STEPS = ("commit_eval", "propose", "sign_1", "sign_2", "submit", "verify", "finalize", "round")


def print_comparison(contributors: int, rows: int, results: dict[bool, list[dict[str, float | int | str]]]) -> None:
    """Seconds per step of each variant (medians over the runs) and, with both, the encrypted / plaintext ratio."""
    def median(variant: bool, key: str) -> float | None:
        values = [float(r[key]) for r in results[variant] if key in r]
        return statistics.median(values) if values else None

    both = len(results) == 2
    runs = max(len(v) for v in results.values())
    print(f"\n{contributors:,} contributors x {rows:,} rows: seconds per step, median of {runs} run(s) each; "
          "round = propose + sign x 2 + submit + finalize (the guardian's verify is apart)")
    names = ["plaintext" if not v else "encrypted" for v in results]
    print("| step | " + " | ".join(names) + (" | encrypted / plaintext |" if both else " |"))
    print("|---|" + "---:|" * (len(names) + both))
    for step in (*STEPS, "fetch_s", "propose_cpu_s", "sign_1_cpu_s", "sign_2_cpu_s", "verify_cpu_s", "round_cpu_s",
                 "propose_peak_mb", "sign_1_peak_mb", "sign_2_peak_mb", "verify_peak_mb", "committee_keys_s", "encrypt_files_s",
                 "onboard_s"):
        key = step if step.endswith(("_mb", "_s")) else f"{step}_s"
        cells = [median(v, key) for v in results]
        if all(c is None for c in cells):
            continue
        ratio = ""
        if both and None not in cells and cells[0]:
            ratio = f" | {cells[1] / cells[0]:.3f} ({(cells[1] / cells[0] - 1) * 100:+.1f}%)"
        elif both:
            ratio = " | "
        print(f"| {step} | " + " | ".join("" if c is None else f"{c:g}" for c in cells) + ratio + " |")
    if both:
        plain_fetch, sealed_fetch = median(False, "fetch_s"), median(True, "fetch_s")
        plain_propose = median(False, "propose_s")
        plain_round = median(False, "round_s")
        assert plain_fetch is not None and sealed_fetch is not None and plain_propose and plain_round
        fetching = 2  # commands that decrypt: propose and oracle 2's sign (oracle 1's sign reads its cache)
        extra = sealed_fetch - plain_fetch
        print(f"fetch (committee keys + gather_manifest, in-process, best of 3): encrypted {sealed_fetch:g} s vs "
              f"plaintext {plain_fetch:g} s: {extra:+.2f} s per command that decrypts, "
              f"{extra / plain_propose * 100:+.1f}% of propose; {fetching} such command(s) a round: "
              f"{fetching * extra / plain_round * 100:+.1f}% of the round")
        for step, what in (("propose", "s"), ("round", "s"), ("propose", "cpu_s"), ("round", "cpu_s")):
            plain, sealed = median(False, f"{step}_{what}"), median(True, f"{step}_{what}")
            assert plain is not None and sealed is not None
            verdict = "within" if sealed <= plain * 1.10 else "over"
            unit = "s" if what == "s" else "CPU s"
            pairs = [float(e[f"{step}_{what}"]) / float(p[f"{step}_{what}"])
                     for p, e in zip(results[False], results[True], strict=False)]
            print(f"{step}: encrypted {sealed:g} {unit} vs plaintext {plain:g} {unit}, overhead "
                  f"{(sealed / plain - 1) * 100:+.1f}% ({verdict} the 10% budget); run by run "
                  + ", ".join(f"{(r - 1) * 100:+.1f}%" for r in pairs)
                  + (f", median {(statistics.median(pairs) - 1) * 100:+.1f}%" if len(pairs) > 1 else ""))


if __name__ == "__main__":
    main()

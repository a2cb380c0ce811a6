#!/usr/bin/env python3
"""Benchmark openledger_chain.merkle against @openzeppelin/merkle-tree (node) on the same leaves.

Builds a StandardMerkleTree of N random ["address", "uint256"] leaves and computes a proof for
every leaf, in Python and in node, in one run; asserts identical roots and identical proofs on
a random sample, then prints the times and the speed-up (JS time / Python time).

Timings exclude process start-up, leaf generation and JSON transfer on both sides.

Usage:
    .venv/bin/python scripts/bench_merkle.py [--leaves 100000] [--sample 1000] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from openledger_chain.merkle import KECCAK_BACKEND, StandardMerkleTree

REPO = Path(__file__).resolve().parents[1]
JS_HELPER = REPO / "tests" / "js" / "merkle_reference.js"
LEAF_ENCODING = ["address", "uint256"]


def make_values(n: int, seed: int) -> list[list[Any]]:
    """Random claim leaves: lowercase addresses and amounts up to 10**24 wei (ints)."""
    rng = random.Random(seed)
    return [["0x" + rng.randbytes(20).hex(), rng.randrange(1, 10**24)] for _ in range(n)]


def bench_python(values: list[list[Any]], self_checked: bool) -> dict[str, Any]:
    """Time `of()` + `get_all_proofs()`, and optionally the JS-equivalent `get_proof(i)` loop."""
    start = time.perf_counter()
    tree = StandardMerkleTree.of(values, LEAF_ENCODING)
    build = time.perf_counter() - start
    start = time.perf_counter()
    proofs = tree.get_all_proofs()
    all_proofs = time.perf_counter() - start
    result: dict[str, Any] = {"root": tree.root, "build_s": build, "proofs_s": all_proofs, "proofs": proofs}
    if self_checked:
        # Like-for-like with JS getProof(i), which re-hashes the value and folds the proof.
        start = time.perf_counter()
        for i in range(len(values)):
            tree.get_proof(i)
        result["get_proof_loop_s"] = time.perf_counter() - start
    return result


def bench_js(values: list[list[Any]], sample: list[int]) -> dict[str, Any]:
    """Run the same leaves through @openzeppelin/merkle-tree in node (uint256 as decimal strings)."""
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
        sys.exit("bench_merkle: needs node and @openzeppelin/merkle-tree; run `npm ci` in the repo root")
    js_values = [[address, str(amount)] for address, amount in values]
    payload = json.dumps({"bench": {"values": js_values, "leafEncoding": LEAF_ENCODING, "sample": sample}})
    proc = subprocess.run([node, str(JS_HELPER)], input=payload, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        sys.exit(f"bench_merkle: node failed:\n{proc.stderr}")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return {**json.loads(proc.stdout), "node": version}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=100_000, help="number of leaves (default 100000)")
    parser.add_argument("--sample", type=int, default=1000, help="proofs compared with JS (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the leaves")
    parser.add_argument("--no-self-checked", action="store_true", help="skip the get_proof(i) loop timing")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    if args.leaves < 1:
        parser.error("--leaves must be >= 1")

    values = make_values(args.leaves, args.seed)
    sample = sorted(random.Random(args.seed + 1).sample(range(args.leaves), min(args.sample, args.leaves)))
    py = bench_python(values, self_checked=not args.no_self_checked)
    js = bench_js(values, sample)

    if py["root"] != js["root"]:
        sys.exit(f"bench_merkle: ROOT MISMATCH python {py['root']} != js {js['root']}")
    mismatched = [i for i, proof in zip(sample, js["sampleProofs"]) if py["proofs"][i] != proof]
    if mismatched:
        sys.exit(f"bench_merkle: PROOF MISMATCH at leaves {mismatched[:10]}")

    for key in ("build_s", "proofs_s", "get_proof_loop_s"):  # tiny --leaves can time below the clock tick
        if key in py:
            py[key] = max(py[key], 1e-9)
    py_total = py["build_s"] + py["proofs_s"]
    js_total = js["buildSeconds"] + js["proofsSeconds"]
    report = {
        "leaves": args.leaves,
        "leaf_encoding": LEAF_ENCODING,
        "root": py["root"],
        "proofs_compared": len(sample),
        "python": platform.python_version(),
        "keccak_backend": KECCAK_BACKEND,
        "node": js["node"],
        "python_build_s": round(py["build_s"], 6),
        "python_all_proofs_s": round(py["proofs_s"], 6),
        "python_total_s": round(py_total, 6),
        "js_build_s": round(js["buildSeconds"], 6),
        "js_all_proofs_s": round(js["proofsSeconds"], 6),
        "js_total_s": round(js_total, 6),
        "ratio_build": round(js["buildSeconds"] / py["build_s"], 2),
        "ratio_proofs": round(js["proofsSeconds"] / py["proofs_s"], 2),
        "ratio_total": round(js_total / py_total, 2),
    }
    if "get_proof_loop_s" in py:
        report["python_get_proof_loop_s"] = round(py["get_proof_loop_s"], 6)
        report["ratio_proofs_self_checked"] = round(js["proofsSeconds"] / py["get_proof_loop_s"], 2)

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"StandardMerkleTree, {args.leaves} leaves {LEAF_ENCODING}, build + a proof for every leaf")
    print(
        f"python {report['python']} (keccak: {KECCAK_BACKEND}) "
        f"vs node {report['node']} @openzeppelin/merkle-tree 1.0.8"
    )
    print(f"{'':28}{'build':>10}{'all proofs':>12}{'total':>10}")
    print(f"{'python (get_all_proofs)':28}{py['build_s']:>9.3f}s{py['proofs_s']:>11.3f}s{py_total:>9.3f}s")
    print(f"{'js (getProof per leaf)':28}{js['buildSeconds']:>9.3f}s{js['proofsSeconds']:>11.3f}s{js_total:>9.3f}s")
    print(
        f"ratio js/python: total {report['ratio_total']}x "
        f"(build {report['ratio_build']}x, proofs {report['ratio_proofs']}x)"
    )
    if "get_proof_loop_s" in py:
        print(
            f"python get_proof(i) loop, self-checked like JS: {py['get_proof_loop_s']:.3f}s "
            f"({report['ratio_proofs_self_checked']}x faster than JS proofs)"
        )
    print(f"root {py['root']} identical; {len(sample)} sampled proofs identical")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark the closed-form valuation (issue 13, item 4) and copy detection's exact neighbour search (issue 25,
item 3) on Dask against one process.

Usage:  python scripts/bench_dask.py [--sizes 100000x1000,1000000x1000] [--workers 2] [--estimate 1000000x10000]
        python scripts/bench_dask.py --search [--rows 100000,300000,1000000] [--workers 2]

For each ROWSxEVAL size (30 features, 2 classes, the data of scripts/bench_attribution.py):
``tknn_shapley`` with the relabelled values of the noise test (``n_labels=2``: what the engine runs
for the default method, k=5, no radius) once in this process (chunks on threads, as the engine runs
it) and once on a LocalCluster of ``--workers`` worker processes with one thread each, started once
beforehand (its start-up time is printed apart). The two results are compared with
``np.array_equal``: the script exits 1 if they differ in a single bit.

With ``--search``: the certified exact search (:func:`.cells.certified_knn`, the 32 nearest rows that copy
detection asks for) over ROWS clustered rows of 30 features (scripts/bench_copy_search.py's data), in this
process and split over blocks of home cells on the LocalCluster; the lists must be identical (exit 1 if not).

Every evaluation point costs the same for a given number of rows (one sort of all rows), so the
time at ROWS x E evaluation points is linear in E; ``--estimate`` extrapolates to its size from the
largest measured run with the same number of rows (labelled as an extrapolation).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def make(n: int, n_eval: int, dims: int, seed: int) -> tuple[np.ndarray, ...]:
    """Two Gaussian classes, as in scripts/bench_attribution.py."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(2, dims))
    ytr, yev = rng.integers(0, 2, n), rng.integers(0, 2, n_eval)
    return centers[ytr] + rng.normal(size=(n, dims)) * 2, ytr, centers[yev] + rng.normal(size=(n_eval, dims)) * 2, yev


def parse_size(text: str) -> tuple[int, int]:
    rows, _, evals = text.lower().partition("x")
    return int(rows), int(evals)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000x1000,300000x1000,1000000x1000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--estimate", default="1000000x10000", help="ROWSxEVAL to extrapolate to ('' for none)")
    parser.add_argument("--search", action="store_true", help="time copy detection's exact neighbour search instead")
    parser.add_argument("--rows", default="100000,300000,1000000", help="--search: row counts, comma-separated")
    args = parser.parse_args()
    if args.search:
        return bench_search([int(r) for r in args.rows.split(",") if r], args.workers)

    from openledger_chain.attribution import Dataset, tknn_shapley_values
    from openledger_chain.attribution.distributed import dask_valuation, in_this_process
    from openledger_chain.attribution.kernel import eval_blocks

    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    print(f"# {os.cpu_count()} cores; tknn_shapley + relabelled values (k=5, no radius, 30 features, 2 classes)")
    print(f"| rows | eval points | blocks | one process (s) | {args.workers}-worker LocalCluster (s) | ratio "
          "| identical | load avg |")
    print("|---:|---:|---:|---:|---:|---:|---|---:|")
    per_eval_point: dict[int, tuple[float, float, int]] = {}
    failed = False
    t0 = time.perf_counter()
    with dask_valuation(workers=args.workers) as runner:
        startup = time.perf_counter() - t0
        for n, n_eval in sizes:
            xtr, ytr, xev, yev = make(n, n_eval, 30, 1)
            train, ev = Dataset(xtr, ytr), Dataset(xev, yev)
            load = os.getloadavg()[0]
            with in_this_process():
                t0 = time.perf_counter()
                here = tknn_shapley_values(train, ev, None, 5, n_classes=2, n_labels=2)
                t_here = time.perf_counter() - t0
            t0 = time.perf_counter()
            there = tknn_shapley_values(train, ev, None, 5, n_classes=2, n_labels=2)
            t_there = time.perf_counter() - t0
            same = bool(np.array_equal(here, there))
            failed |= not same
            per_eval_point[n] = (t_here / n_eval, t_there / n_eval, n_eval)
            load = max(load, os.getloadavg()[0])
            print(f"| {n:,} | {n_eval:,} | {len(eval_blocks(n, n_eval))} | {t_here:.1f} | {t_there:.1f} | "
                  f"{t_here / t_there:.2f}x | {'yes' if same else 'NO'} | {load:.1f} |", flush=True)
            del here, there, train, ev, xtr, xev
    print(f"\nLocalCluster start-up ({args.workers} workers, {runner.blocks_run} blocks run): {startup:.1f} s")
    if args.estimate:
        n, n_eval = parse_size(args.estimate)
        if n in per_eval_point:
            *seconds, measured = per_eval_point[n]
            for label, per_point in zip(("one process", f"{args.workers}-worker LocalCluster"), seconds):
                est = per_point * n_eval
                print(f"extrapolated, not measured: {n:,} x {n_eval:,} on {label} ~ {est:.0f} s ({est / 60:.1f} min), "
                      f"from {per_point * 1000:.1f} ms per evaluation point measured at {n:,} x {measured:,}")
    return 1 if failed else 0


def bench_search(sizes: list[int], workers: int) -> int:
    """The certified neighbour search in this process and on a LocalCluster; 1 if any list differs."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_copy_search import K, synthetic

    from openledger_chain.attribution.cells import certified_knn
    from openledger_chain.attribution.distributed import dask_valuation

    print(f"# {os.cpu_count()} cores; certified exact search, {K} nearest rows, 30 features, clustered rows")
    print(f"| rows | one process (s) | {workers}-worker LocalCluster (s) | ratio | identical | load avg |")
    print("|---:|---:|---:|---:|---|---:|")
    failed = False
    t0 = time.perf_counter()
    with dask_valuation(workers=workers) as runner:
        startup = time.perf_counter() - t0
        for n in sizes:
            x = synthetic(n, 30, blob=False)
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            here = certified_knn(x, K)
            t_here = time.perf_counter() - t0
            t0 = time.perf_counter()
            there = certified_knn(x, K, runner=runner)
            t_there = time.perf_counter() - t0
            same = bool(np.array_equal(here, there))
            failed |= not same
            load = max(load, os.getloadavg()[0])
            print(f"| {n:,} | {t_here:.1f} | {t_there:.1f} | {t_here / t_there:.2f}x | {'yes' if same else 'NO'} | "
                  f"{load:.1f} |", flush=True)
            del here, there, x
    print(f"\nLocalCluster start-up ({workers} workers, {runner.blocks_run} blocks run): {startup:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":  # the LocalCluster's worker processes re-import this file
    sys.exit(main())

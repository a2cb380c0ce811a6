"""Approximate candidates vs the exact search in copy detection, on bench_round.py's data with planted copies.

Rows as bench_round.py writes them (breast-cancer rows with 5% noise, 10 per contribution), z-scored by
their own mean and deviation, then 10% more rows at the end: copies of random honest rows moved 0.1-0.5 of
their spacing (their distance to their nearest other row), in contributions of their own. For each size it
runs `find_copies` with `copy_search` approximate (cells.approximate_knn) and, up to --exact-up-to rows, the
exact search, and prints: seconds (wall and CPU) of each; planted copies each missed; rows decided
differently (honest rows only one of them excludes, and copies only one catches); with --threads, whether
the approximate lists are identical under 1 and 2 BLAS threads.

With --determinism it only runs the approximate path and prints a digest of its lists and decisions computed
under 1 and 2 BLAS threads in this process, in two more processes (1 and 2 threads set by environment) and on
a Dask worker process: every digest must be the same.

    .venv/bin/python scripts/bench_approximate.py --rows 100000 1000000 [--threads]
    .venv/bin/python scripts/bench_approximate.py --rows 100000 --determinism
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time

import numpy as np
from sklearn.datasets import load_breast_cancer
from threadpoolctl import threadpool_limits

from openledger_chain.attribution.cells import approximate_knn
from openledger_chain.attribution.dedup import NeighbourIndex, find_copies


def rows(n: int, seed: int = 0, dims: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, group, planted rows): n honest rows in contributions of 10, then n/10 planted copies. With `dims`,
    the honest rows are Gaussian in that many dimensions (two labels), as an embedding's worst case."""
    rng = np.random.default_rng(seed)
    if dims is not None:
        x = rng.normal(size=(n, dims))
        y = rng.integers(0, 2, n).astype(np.int64)
    else:
        data = load_breast_cancer()
        pick = rng.integers(0, len(data.target), n)
        x = data.data[pick] * (1 + rng.normal(scale=0.05, size=(n, data.data.shape[1])))
        x = (x - x.mean(axis=0)) / x.std(axis=0)
        y = data.target[pick].astype(np.int64)
    sources = rng.choice(n, size=n // 10, replace=False)
    # Spacing: the distance to the nearest other row among its candidates (the true one in ~97% of rows at
    # 100,000; never nearer than the true one, so a copy is never placed closer than intended).
    spacing = NeighbourIndex(x, np.zeros((0, x.shape[1])), 1e9, search="approximate").dist[sources, 1]
    direction = rng.normal(size=(len(sources), x.shape[1]))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    copies = x[sources] + direction * (rng.uniform(0.1, 0.5, len(sources)) * spacing)[:, None]
    x_all = np.vstack([x, copies])
    y_all = np.concatenate([y, y[sources]])
    group = np.arange(len(x_all)) // 10
    return x_all, y_all, group, np.arange(n, len(x_all))


def timed(x: np.ndarray, y: np.ndarray, group: np.ndarray, search: str):  # type: ignore[no-untyped-def]
    ref, ref_y = np.zeros((0, x.shape[1])), np.zeros(0, dtype=np.int64)
    wall, cpu = time.perf_counter(), time.process_time()
    index = NeighbourIndex(x, ref, 1e9, search=search)
    found = find_copies(x, y, group, ref, ref_y, copy_ratio=0.5, outlier_bound=1e9, index=index)
    return found, time.perf_counter() - wall, time.process_time() - cpu


def digest(n: int, seed: int = 0) -> str:
    """sha256 of the approximate lists, the decisions (reason, parent) and the derivatives on `rows(n)`, seeded
    with `seed` as a round's registry block hash seeds it."""
    x, y, group, _ = rows(n)
    return decisions_digest(x, y, group, seed)


def decisions_digest(x: np.ndarray, y: np.ndarray, group: np.ndarray, seed: int) -> str:
    """sha256 of the approximate path's lists, decisions (reason, parent) and derivatives on these rows."""
    ref, ref_y = np.zeros((0, x.shape[1])), np.zeros(0, dtype=np.int64)
    index = NeighbourIndex(x, ref, 1e9, search="approximate", seed=seed)
    found = find_copies(x, y, group, ref, ref_y, copy_ratio=0.5, outlier_bound=1e9, index=index)
    h = hashlib.sha256()
    for part in (index.rows, found.reason, found.parent, np.array(sorted(found.derivative_of.items()), dtype=np.int64)):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


class _Printed(dict):  # type: ignore[type-arg]
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.start = n, time.perf_counter()

    def __setitem__(self, how: str, value: str) -> None:
        super().__setitem__(how, value)
        print(f"{self.n:>9,} rows, {how}: {value} ({time.perf_counter() - self.start:.0f} s)", flush=True)


def _in_process(n: int, seed: int, threads: int) -> str:
    with threadpool_limits(threads):
        return digest(n, seed)


def determinism(n: int, seed: int) -> dict[str, str]:
    """The digest of `n` rows computed every way (each printed as it comes): it must be one value."""
    found = _Printed(n)
    for t in (1, 2):
        found[f"this process, {t} BLAS thread(s)"] = _in_process(n, seed, t)
    for threads in (1, 2):
        env = os.environ | {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        out = subprocess.run([sys.executable, __file__, "--digest", str(n), str(seed)], env=env, check=True,
                             capture_output=True, text=True).stdout.split()[-1]
        found[f"another process, {threads} thread(s) by environment"] = out
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        found["a Dask worker process (2 threads)"] = client.submit(_in_process, n, seed, 2, pure=False).result()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000], help="honest rows (planted copies: +10%%)")
    parser.add_argument("--exact-up-to", type=int, default=100_000)
    parser.add_argument("--threads", action="store_true")
    parser.add_argument("--dims", type=int, help="Gaussian rows in this many dimensions instead of bench_round.py's")
    parser.add_argument("--determinism", action="store_true", help="only the digests of the approximate path, every way")
    parser.add_argument("--seed", type=int, default=int.from_bytes(hashlib.sha256(b"registry block").digest(), "big"))
    parser.add_argument("--digest", nargs=2, type=int, help=argparse.SUPPRESS)  # a child process of --determinism
    args = parser.parse_args()
    if args.digest:
        print(digest(*args.digest))
        return
    if args.determinism:
        for n in args.rows:
            wall, cpu = time.perf_counter(), time.process_time()
            found = determinism(n, args.seed)
            print(f"    identical: {len(set(found.values())) == 1} ({time.perf_counter() - wall:.0f} s wall, "
                  f"{time.process_time() - cpu:.0f} s CPU in this process)", flush=True)
        return
    for n in args.rows:
        x, y, group, planted = rows(n, dims=args.dims)
        approx, wall, cpu = timed(x, y, group, "approximate")
        missed = int((approx.reason[planted] == 0).sum())
        print(f"{len(x):>9,} rows: approximate {wall:6.1f} s ({cpu:6.1f} s CPU), planted copies missed {missed} of "
              f"{len(planted)} ({missed / len(planted):.3%})", flush=True)
        if n <= args.exact_up_to:
            exact, wall, cpu = timed(x, y, group, "auto")
            missed_exact = int((exact.reason[planted] == 0).sum())
            honest = np.ones(len(x), dtype=bool)
            honest[planted] = False
            only_approx = int(((approx.reason != 0) & (exact.reason == 0) & honest).sum())
            only_exact = int(((approx.reason == 0) & (exact.reason != 0)).sum())
            planted_only_exact = int(((approx.reason[planted] == 0) & (exact.reason[planted] != 0)).sum())
            derivatives = len(set(approx.derivative_of) - set(exact.derivative_of))
            print(f"    exact {wall:6.1f} s ({cpu:6.1f} s CPU), planted copies missed {missed_exact}; rows excluded "
                  f"by exact only {only_exact} (planted copies {planted_only_exact}), honest rows excluded by "
                  f"approximate only {only_approx}, derivatives by approximate only {derivatives}; "
                  f"identical decisions {approx.reason.tolist() == exact.reason.tolist()}", flush=True)
        if args.threads:
            with threadpool_limits(1):
                one = approximate_knn(x, 32)
            with threadpool_limits(2):
                two = approximate_knn(x, 32)
            print(f"    1 vs 2 BLAS threads: identical lists {np.array_equal(one.lists, two.lists)}", flush=True)


if __name__ == "__main__":
    main()

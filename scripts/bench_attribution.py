"""Benchmark exact KNN-Shapley and TKNN-Shapley: against pyDVL 0.10.0 (equal values, speed) and at scale.

Usage:  python scripts/bench_attribution.py [--sizes 1000,10000,100000] [--n-eval 1000] [--pydvl-train 5000]
            [--dims 30,384,1024]
        python scripts/bench_attribution.py --paired 100000 [--dims 30,384]   (classification vs regression, one process)

1. Same data, back to back: our vectorized recursion vs pyDVL's ``KNNShapleyValuation`` (timed in its own
   venv's process, scripts/pydvl_reference.py: pyDVL requires NumPy < 2); values are asserted equal to 1e-9
   and the time ratio is printed.
   (pyDVL has no threshold/soft-label KNN-Shapley; ``tknn_shapley`` is checked against brute force
   in tests/attribution/test_methods.py.)
2. Scaling: N training rows x 1000 evaluation rows (30 features, 2 classes), wall time and peak
   memory of ``knn_shapley``, of ``tknn_shapley`` (k=5, no radius), of ``tknn_shapley+relabel``
   (the same with the per-label values of the label-noise test, what the engine runs) and of
   ``copies`` (copy detection, 10 rows per contribution), ``knn_shapley+relabel`` (classification
   values with the per-label slopes of the noise test, what the engine runs for ``knn_shapley``) and
   ``knn_shapley_regression`` (``task: "regression"``: values and the target-noise coefficients,
   what the engine runs; the targets are a noisy linear function of the features) -- a fresh
   subprocess per method and size, so peak RSS is per run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np


def make(n: int, n_eval: int, dims: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(2, dims))
    ytr, yev = rng.integers(0, 2, n), rng.integers(0, 2, n_eval)
    return centers[ytr] + rng.normal(size=(n, dims)) * 2, ytr, centers[yev] + rng.normal(size=(n_eval, dims)) * 2, yev


def compare_pydvl(n: int, n_eval: int) -> None:
    from pydvl_reference import pydvl_knn_shapley  # scripts/: pyDVL runs in its own venv (it requires NumPy < 2)

    from openledger_chain.attribution import Dataset, knn_shapley_values

    xtr, ytr, xev, yev = make(n, n_eval, 30, 0)
    t0 = time.perf_counter()
    ours = knn_shapley_values(Dataset(xtr, ytr), Dataset(xev, yev), 5)
    t_ours = time.perf_counter() - t0
    # pyDVL's fit is timed in its own process (NumPy 1.26), right after ours, on the same data.
    theirs, t_pydvl = pydvl_knn_shapley(xtr, ytr, xev, yev, 5)
    diff = float(np.abs(ours - theirs).max())
    assert diff <= 1e-9, f"values differ by {diff}"
    print(f"| pyDVL comparison | {n} x {n_eval} | ours {t_ours:.2f} s | pyDVL {t_pydvl:.2f} s | "
          f"speed-up {t_pydvl / t_ours:.1f}x | max |diff| {diff:.1e} |")


def scale_one(n: int, n_eval: int, method: str, dims: int = 30) -> None:
    import resource

    from openledger_chain.attribution import Dataset, knn_shapley_values, tknn_shapley_values

    xtr, ytr, xev, yev = make(n, n_eval, dims, 1)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if method == "knn_shapley":
        values = knn_shapley_values(Dataset(xtr, ytr), Dataset(xev, yev), 5)
    elif method == "tknn_shapley":
        values = tknn_shapley_values(Dataset(xtr, ytr), Dataset(xev, yev), None, 5, n_classes=2)
    elif method == "knn_shapley+relabel":  # what the engine runs for classification knn_shapley
        from openledger_chain.attribution import KNNShapley

        values = KNNShapley(Dataset(xev, yev), 5).fit(Dataset(xtr, ytr)).result.values
    elif method == "knn_shapley_regression":  # what the engine runs for task "regression"
        from openledger_chain.attribution import KNNRegressionShapley

        w = np.random.default_rng(2).normal(size=xtr.shape[1])
        ttr = xtr @ w + np.random.default_rng(3).normal(size=n)
        tev = xev @ w + np.random.default_rng(4).normal(size=n_eval)
        values = KNNRegressionShapley(Dataset(xev, tev), 5).fit(Dataset(xtr, ttr)).result.values
    elif method == "tknn_shapley+relabel":  # what the engine runs: values and the label-noise null
        from openledger_chain.attribution import TKNNShapley

        values = TKNNShapley(Dataset(xev, yev), None, 5, n_classes=2).fit(Dataset(xtr, ytr)).result.values
    else:  # copy detection, 10 rows per contribution, the evaluation set as reference
        from openledger_chain.attribution.dedup import find_copies

        values = find_copies(xtr, ytr, np.arange(n) // 10, xev, yev, copy_ratio=0.5, outlier_bound=25.0).reason.astype(float)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"method": method, "n": n, "n_eval": n_eval, "dims": dims, "seconds": elapsed, "peak_rss_mb": peak / 1024,
                      "input_mb": (xtr.nbytes + xev.nbytes) / 2**20, "rss_before_mb": base / 1024,
                      "sum": float(values.sum())}))


def load() -> str:
    """The 1-, 5- and 15-minute load averages, printed next to every timing (a shared machine)."""
    return "load " + " / ".join(f"{a:.1f}" for a in os.getloadavg())


def paired_regression(n: int, n_eval: int, dims: int = 30, repeats: int = 3) -> None:
    """Classification knn_shapley (with per-label slopes) and regression knn_shapley (with target
    coefficients) alternating in one process on the same features, best of `repeats`: on a shared
    machine the ratio of the two minima is steadier than separate subprocesses."""
    from openledger_chain.attribution import Dataset, KNNRegressionShapley, KNNShapley

    before = load()
    xtr, ytr, xev, yev = make(n, n_eval, dims, 1)
    w = np.random.default_rng(2).normal(size=xtr.shape[1])
    ttr = xtr @ w + np.random.default_rng(3).normal(size=n)
    tev = xev @ w + np.random.default_rng(4).normal(size=n_eval)
    times: dict[str, list[float]] = {"classification": [], "regression": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        KNNShapley(Dataset(xev, yev), 5).fit(Dataset(xtr, ytr))
        times["classification"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        KNNRegressionShapley(Dataset(xev, tev), 5).fit(Dataset(xtr, ttr))
        times["regression"].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    print(f"| knn_shapley classification vs regression | {n} x {n_eval} x {dims} | {best['classification']:.2f} s | "
          f"{best['regression']:.2f} s | ratio {best['regression'] / best['classification']:.2f}x (best of {repeats}; "
          f"all: {', '.join(f'{t:.1f}' for t in times['classification'])} / "
          f"{', '.join(f'{t:.1f}' for t in times['regression'])} s) | {before} before, {load()} after |", flush=True)


def main() -> None:
    warnings.filterwarnings("ignore", category=FutureWarning)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--n-eval", type=int, default=1000)
    p.add_argument("--pydvl-train", type=int, default=5000)
    p.add_argument("--pydvl-eval", type=int, default=200)
    p.add_argument("--methods", default="knn_shapley,knn_shapley+relabel,knn_shapley_regression,tknn_shapley,tknn_shapley+relabel,copies")
    p.add_argument("--no-pydvl", action="store_true", help="skip the pyDVL comparison")
    p.add_argument("--paired", type=int, metavar="N", help="only the paired classification/regression run at N rows")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)
    p.add_argument("--method", default="knn_shapley", help=argparse.SUPPRESS)
    p.add_argument("--dims", default="30", help="feature dimensions, comma-separated (embeddings: 384, 1024)")
    args = p.parse_args()
    if args.one:
        scale_one(args.one, args.n_eval, args.method, int(args.dims))
        return
    if args.paired:
        for dims in args.dims.split(","):
            paired_regression(args.paired, args.n_eval, int(dims))
        return
    print(f"cores: {os.cpu_count()}")
    if not args.no_pydvl:
        compare_pydvl(args.pydvl_train, args.pydvl_eval)
    print("| method | train rows | eval rows | dimensions | time (s) | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for method in args.methods.split(","):
        for dims in args.dims.split(","):
            for n in (int(s) for s in args.sizes.split(",")):
                cmd = [sys.executable, __file__, "--one", str(n), "--n-eval", str(args.n_eval), "--method", method,
                       "--dims", dims]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                print(f"| {r['method']} | {r['n']} | {r['n_eval']} | {r['dims']} | {r['seconds']:.2f} | "
                      f"{r['peak_rss_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()

"""How the text featurizer's vectors should meet KNN: dense hashed TF-IDF, or a TruncatedSVD of it.

Usage:  python scripts/bench_text_featurizer.py [--rows 2500] [--eval 400] [--contributors 10]

Generated support tickets (examples/text/generate.py, nothing downloaded): `--eval` of them are the
evaluation set, the rest is split among `--contributors` honest contributors. Each configuration runs
the whole engine (`attribute`, tknn_shapley) and reports: seconds for the round, the utility of all rows
(tknn soft accuracy on the evaluation set), and the Spearman correlation of the per-contributor values
and of the per-row values with the reference configuration (2**13 hashed dimensions, no SVD: the
closest to an unhashed vocabulary here). Run twice, the SVD configurations are also checked for identical
bits (determinism for a fixed seed).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from openledger_chain.attribution import attribute

REPO = Path(__file__).resolve().parents[1]
#: Dense rows cost rows x n_features x 8 bytes per copy (the engine holds a few): 2^14 dimensions at 4,000 rows
#: (0.5 GB a copy) was killed (SIGKILL) on the shared machine, so the reference is 2^13.
CONFIGS = {
    "dense 2^13 (reference)": {"n_features": 8192},
    "dense 2^10": {"n_features": 1024},
    "dense 2^11": {"n_features": 2048},
    "svd 64 of 2^13": {"n_features": 8192, "svd_components": 64},
    "svd 256 of 2^13": {"n_features": 8192, "svd_components": 256},
}


def generator():
    spec = importlib.util.spec_from_file_location("_text_gen", REPO / "examples" / "text" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(path: Path, texts: list[str], labels: list[str]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "topic"])
        w.writerows(zip(texts, labels))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=2500)
    p.add_argument("--eval", type=int, default=400)
    p.add_argument("--contributors", type=int, default=10)
    args = p.parse_args()
    gen = generator()
    texts, labels = gen.tickets(np.random.default_rng(7), args.rows + args.eval)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write(root / "eval.csv", texts[:args.eval], labels[:args.eval])
        manifest = []
        parts = np.array_split(np.arange(args.eval, len(texts)), args.contributors)
        for i, part in enumerate(parts):
            write(root / f"c{i}.csv", [texts[j] for j in part], [labels[j] for j in part])
            manifest.append({"id": f"c{i}", "contributor": "0x" + f"{i + 1:02d}" * 20, "kind": "data", "path": f"c{i}.csv"})
        results = {}
        for name, text in CONFIGS.items():
            spec = {"label": "topic", "text": {"ngram_range": [1, 2], **text}, "kind_shares_bps": {"data": 10000}}
            t0 = time.perf_counter()
            report = attribute(spec, manifest, root / "eval.csv", base_dir=root, emission=10**18)
            seconds = time.perf_counter() - t0
            same = None
            if "svd_components" in text:
                again = attribute(spec, manifest, root / "eval.csv", base_dir=root, emission=10**18)
                same = np.array_equal(again.row_values, report.row_values)
            results[name] = (report, seconds, same)
        ref = results["dense 2^13 (reference)"][0]
        print(f"{args.rows} contributed tickets, {args.eval} evaluation tickets, {args.contributors} contributors\n")
        print("| configuration | round seconds | utility (all rows) | Spearman, contributors | Spearman, rows | "
              "same bits twice |")
        print("|---|---:|---:|---:|---:|---|")
        for name, (report, seconds, same) in results.items():
            rho_c = spearmanr([c.value for c in ref.contributions], [c.value for c in report.contributions]).statistic
            rho_r = spearmanr(ref.row_values, report.row_values).statistic
            print(f"| {name} | {seconds:.1f} | {report.utility['all']:.3f} | {rho_c:.2f} | {rho_r:.2f} | "
                  f"{'-' if same is None else 'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()

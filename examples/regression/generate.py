"""Regenerate the regression example from scikit-learn's bundled diabetes data (deterministic).

Run from the repository root:  python examples/regression/generate.py
The target is disease progression one year after baseline (25..346); 442 patients, 10 features.
130 rows are the evaluation set; three honest contributors (alice, bob, carol) hold 80 rows each,
a copier registers alice's first 40 rows with 0.1% jitter, and a shuffler registers 40 real rows
(jittered) with their targets shuffled among them: the right distribution, paired at random.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes

HERE = Path(__file__).parent
COLUMNS = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*COLUMNS, "progression"])
        for row, target in zip(x, y):
            w.writerow([*(f"{v:.6g}" for v in row), f"{target:g}"])


def main() -> None:
    x, y = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(26)
    perm = rng.permutation(len(y))
    x, y = x[perm], y[perm]
    write_csv(HERE / "eval.csv", x[:130], y[:130])
    files = {"alice": (x[130:210], y[130:210]), "bob": (x[210:290], y[210:290]), "carol": (x[290:370], y[290:370])}
    files["copycat"] = (x[130:170] * (1 + 0.001 * rng.normal(size=(40, 10))), y[130:170])
    files["mallory"] = (x[370:410] + 0.3 * x[:130].std(axis=0) * rng.normal(size=(40, 10)), rng.permutation(y[370:410]))
    manifest = []
    for i, (name, (fx, fy)) in enumerate(files.items(), start=1):
        write_csv(HERE / f"{name}.csv", fx, fy)
        manifest.append({"id": f"{name}-1", "contributor": "0x" + f"{i:02d}" * 20, "kind": "data", "path": f"{name}.csv"})
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    spec = {"task": "regression", "label": "progression", "method": {"name": "knn_shapley", "k": 5},
            "kind_shares_bps": {"data": 10000}}
    (HERE / "spec.json").write_text(json.dumps(spec, indent=1) + "\n")


if __name__ == "__main__":
    main()

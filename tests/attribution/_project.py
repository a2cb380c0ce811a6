"""A small attribution project (spec, manifest, CSVs) written from breast-cancer data, for the tests here.

(A module of its own: test files import it, and `conftest` is not a unique module name across folders.)"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer

COLUMNS = ["f0", "f1", "f2", "f3", "f4"]


def addr(i: int) -> str:
    return "0x" + f"{i:02d}" * 20


def write_csv(path: Path, x: np.ndarray, y: np.ndarray, columns: list[str] = COLUMNS, label: str = "y") -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*columns, label])
        for row, lab in zip(x, y):
            w.writerow([*(repr(float(v)) for v in row), int(lab) if float(lab).is_integer() else repr(float(lab))])


class Project:
    """Builds a project directory; ``add`` registers a contribution in call order."""

    def __init__(self, root: Path) -> None:
        data = load_breast_cancer()
        rng = np.random.default_rng(0)
        perm = rng.permutation(len(data.target))
        self.x = data.data[perm][:, :5]
        self.y = data.target[perm]
        self.root = root
        self.manifest: list[dict[str, Any]] = []
        self.spec: dict[str, Any] = {"label": "y", "method": {"name": "knn_shapley", "k": 5}}
        write_csv(root / "eval.csv", self.x[:80], self.y[:80])

    def rows(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        return self.x[100 + a : 100 + b].copy(), self.y[100 + a : 100 + b].copy()

    def add(self, cid: str, contributor: str, x: np.ndarray, y: np.ndarray, kind: str = "data") -> None:
        write_csv(self.root / f"{cid}.csv", x, y)
        self.manifest.append({"id": cid, "contributor": contributor, "kind": kind, "path": f"{cid}.csv"})

    def add_json(self, cid: str, contributor: str, kind: str, doc: Any) -> None:
        (self.root / f"{cid}.json").write_text(json.dumps(doc))
        self.manifest.append({"id": cid, "contributor": contributor, "kind": kind, "path": f"{cid}.json"})

    def write(self) -> tuple[Path, Path, Path]:
        (self.root / "spec.json").write_text(json.dumps(self.spec))
        (self.root / "manifest.json").write_text(json.dumps(self.manifest))
        return self.root / "spec.json", self.root / "manifest.json", self.root / "eval.csv"

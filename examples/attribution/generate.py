"""Regenerate this example from scikit-learn's bundled breast-cancer data (deterministic).

Run from the repository root:  python examples/attribution/generate.py
Contributors: three honest data contributors, a label flipper, a copier (jittered copy of
contributor A's rows), an annotator, a fine-tune recipe, a later data contributor (dave, round 2 of
the demo, with round 2's evaluation set eval2.csv), and a compute claim attested by the model
owner (demo key below; never use it for anything real) for model id MODEL_ID (`--model 0`, the
CLI's default; the on-chain demo signs its own claims for the model id it registers).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from eth_account import Account
from eth_account.messages import encode_defunct
from sklearn.datasets import load_breast_cancer

from openledger_chain.attribution import attestation_message
from openledger_chain.address import to_checksum_address

HERE = Path(__file__).parent
OWNER_KEY = "0x" + "4f" * 32  # demo model-owner key
FEATURES = 10  # the ten "mean ..." features keep the files small
MODEL_ID = 0  # model id the compute attestation is signed for


def write_csv(path: Path, header: list[str], x: np.ndarray, y: np.ndarray) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*header, "diagnosis"])
        for row, label in zip(x, y):
            w.writerow([*(f"{v:.6g}" for v in row), int(label)])


def main() -> None:
    data = load_breast_cancer()
    header = [str(n).replace(" ", "_") for n in data.feature_names[:FEATURES]]
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(data.target))
    x, y = data.data[perm, :FEATURES], data.target[perm]
    ev, tr = slice(0, 150), slice(150, 450)
    write_csv(HERE / "eval.csv", header, x[ev], y[ev])
    xt, yt = x[tr], y[tr]
    addr = lambda i: to_checksum_address("0x" + f"{i:02x}" * 20)  # noqa: E731
    parts = {"alice": (0, 80), "bob": (80, 160), "carol": (160, 220), "mallory": (220, 270), "annie": (270, 300)}
    manifest = []
    for n, (name, (a, b)) in enumerate(parts.items(), start=1):
        xs, ys = xt[a:b], yt[a:b].copy()
        if name == "mallory":
            ys = 1 - ys  # label flipper
        write_csv(HERE / f"{name}.csv", header, xs, ys)
        kind = "annotation" if name == "annie" else "data"
        manifest.append({"id": f"{name}-1", "contributor": addr(n), "kind": kind, "path": f"{name}.csv"})
    # Copier: alice's first 40 rows with 0.1% jitter, registered after alice.
    jitter = xt[:40] * (1 + rng.normal(scale=0.001, size=xt[:40].shape))
    write_csv(HERE / "copycat.csv", header, jitter, yt[:40])
    manifest.append({"id": "copycat-1", "contributor": addr(6), "kind": "data", "path": "copycat.csv"})
    (HERE / "recipe.json").write_text(json.dumps({"params": {"n_neighbors": 9, "weights": "distance"}}, indent=2) + "\n")
    manifest.append({"id": "tuner-1", "contributor": addr(7), "kind": "finetune", "path": "recipe.json"})
    units = 120
    message = attestation_message(MODEL_ID, "compute", addr(8), units)
    signature = Account.sign_message(encode_defunct(text=message), OWNER_KEY).signature.hex()
    owner = Account.from_key(OWNER_KEY).address
    claim = {"units": units, "description": "GPU-hours for round 1", "attestation": {"signer": owner, "signature": "0x" + signature.removeprefix("0x")}}
    (HERE / "compute.json").write_text(json.dumps(claim, indent=2) + "\n")
    manifest.append({"id": "gpu-1", "contributor": addr(8), "kind": "compute", "path": "compute.json"})
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    # Round 2 of the demo: a contributor who arrives later, and the evaluation set the owner commits for
    # round 2 (rows round 1's set never held, so revealing round 1's set gives nobody an edge).
    write_csv(HERE / "dave.csv", header, x[450:510], y[450:510])
    write_csv(HERE / "eval2.csv", header, x[510:], y[510:])
    spec = {
        "task": "classification",
        "label": "diagnosis",
        "method": {"name": "tknn_shapley", "k": 5, "tau": "auto"},
        # Base recipe 3-NN; the registered fine-tune recipe (9-NN, distance-weighted) improves on it.
        "estimator": {"name": "KNeighborsClassifier", "params": {"n_neighbors": 3}},
        "seed": 0,
        "kind_shares_bps": {"data": 7000, "annotation": 1000, "finetune": 1000, "compute": 500, "evaluation": 500},
        "copy_ratio": 0.5,
        "outlier_bound": 25,
        "noise_margin": 3.0,
        "classes": ["0", "1"],
        "standardize": True,
    }
    (HERE / "spec.json").write_text(json.dumps(spec, indent=2) + "\n")
    print(f"model owner (attestor): {owner}")


if __name__ == "__main__":
    main()

"""Regenerate the embeddings example (deterministic): Parquet and .npz files of 128-dimensional vectors.

Run from the repository root:  python examples/embeddings/generate.py

The "embedding model" is a small random-feature network, shipped as model.npy (its weights): an 8x8
digit image (scikit-learn's bundled digits, 1,797 images, 10 classes) becomes
``l2normalize(tanh(pixels / 16 @ W + b))``, 128 dimensions. The spec names it by identifier and the
SHA-256 of model.npy, and values by cosine distance. 400 images are the evaluation set (eval.parquet);
alice, bob and carol hold 300 each (carol as .npz: features + labels in one file); copycat registers
alice's first 150 vectors nudged by 0.1% and re-normalised; mallory registers real vectors of held-back
images with every label shifted by one; dave embeds with another model (64 dimensions), which the
oracle excludes with the reason.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.datasets import load_digits

HERE = Path(__file__).parent
DIM = 128


def model_weights() -> np.ndarray:
    """W (64 x 128) and b (128) stacked: rows 0..63 are W, row 64 is b."""
    rng = np.random.default_rng(2026)
    return np.vstack([rng.normal(size=(64, DIM)) / 4.0, rng.uniform(-1, 1, size=(1, DIM))]).astype(np.float64)


def embed(weights: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    z = np.tanh(pixels / 16.0 @ weights[:64] + weights[64])
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def write_parquet(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """A fixed-size list<float32> column 'embedding' and an int64 column 'digit'."""
    x32 = np.ascontiguousarray(x, dtype=np.float32)
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(x32.ravel()), x32.shape[1])
    pq.write_table(pa.table({"embedding": vectors, "digit": pa.array(y.astype(np.int64))}), path)


def main() -> None:
    weights = model_weights()
    np.save(HERE / "model.npy", weights)
    pixels, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(26)
    perm = rng.permutation(len(y))
    pixels, y = pixels[perm], y[perm]
    x = embed(weights, pixels)
    write_parquet(HERE / "eval.parquet", x[:400], y[:400])
    write_parquet(HERE / "alice.parquet", x[400:700], y[400:700])
    write_parquet(HERE / "bob.parquet", x[700:1000], y[700:1000])
    np.savez(HERE / "carol.npz", features=x[1000:1300].astype(np.float32), labels=y[1000:1300])
    nudged = x[400:550] * (1 + 0.001 * rng.normal(size=(150, DIM)))
    write_parquet(HERE / "copycat.parquet", nudged / np.linalg.norm(nudged, axis=1, keepdims=True), y[400:550])
    write_parquet(HERE / "mallory.parquet", x[1300:1450], (y[1300:1450] + 1) % 10)
    other = pixels[1450:1550] / np.linalg.norm(pixels[1450:1550], axis=1, keepdims=True)  # raw pixels: 64 dimensions
    write_parquet(HERE / "dave.parquet", other, y[1450:1550])
    files = ["alice.parquet", "bob.parquet", "carol.npz", "copycat.parquet", "mallory.parquet", "dave.parquet"]
    manifest = [{"id": f"{Path(f).stem}-1", "contributor": "0x" + f"{i:02d}" * 20, "kind": "data", "path": f}
                for i, f in enumerate(files, start=1)]
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    spec = {
        "label": "digit",
        "classes": [str(d) for d in range(10)],
        "embedding": {"model": "openledger/digits-rff-128 (examples/embeddings/model.npy)",
                      "model_hash": "0x" + hashlib.sha256((HERE / "model.npy").read_bytes()).hexdigest(),
                      "dimension": DIM, "normalization": "l2", "distance": "cosine", "column": "embedding"},
        "kind_shares_bps": {"data": 10000},
    }
    (HERE / "spec.json").write_text(json.dumps(spec, indent=1) + "\n")


if __name__ == "__main__":
    main()

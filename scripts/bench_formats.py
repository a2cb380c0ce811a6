"""Load time of one contribution: CSV (numeric columns) against Parquet and .npz (embeddings).

Usage:  python scripts/bench_formats.py [--rows 100000] [--dims 30,384]

For each dimension, the same random rows (float32 values, labels 0..9) are written as a CSV (the
format numeric-column specs read, 7 significant digits a cell), a Parquet file with a fixed-size
list<float32> column (pyarrow, default compression), and an .npz (numpy.savez of float32 features and
int64 labels); each is read once with the engine's reader (`read_rows`, with its checks) and the
seconds and file size are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from openledger_chain.attribution.spec import parse_spec
from openledger_chain.attribution.table import read_rows

HASH = "0x" + "00" * 32


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--dims", default="30,384")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.rows:,} rows\n")
    print("| dimensions | format | file MB | read seconds |")
    print("|---:|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for dim in (int(d) for d in args.dims.split(",")):
            x = rng.normal(size=(args.rows, dim)).astype(np.float32)
            y = rng.integers(0, 10, args.rows)
            csv_path = root / f"d{dim}.csv"
            with csv_path.open("w") as f:
                f.write(",".join([*(f"f{j}" for j in range(dim)), "label"]) + "\n")
                np.savetxt(f, np.column_stack([x, y]), fmt=["%.7g"] * dim + ["%d"], delimiter=",")
            pq_path = root / f"d{dim}.parquet"
            pq.write_table(pa.table({"embedding": pa.FixedSizeListArray.from_arrays(pa.array(x.ravel()), dim),
                                     "label": pa.array(y)}), pq_path)
            npz_path = root / f"d{dim}.npz"
            np.savez(npz_path, features=x, labels=y)
            emb = {"label": "label", "embedding": {"model": "bench", "model_hash": HASH, "dimension": dim}}
            for name, path, spec in (("CSV", csv_path, {"label": "label"}), ("Parquet", pq_path, emb), (".npz", npz_path, emb)):
                t0 = time.perf_counter()
                table = read_rows(path, parse_spec(spec))
                seconds = time.perf_counter() - t0
                assert table.x.shape == (args.rows, dim)
                print(f"| {dim} | {name} | {path.stat().st_size / 1e6:.1f} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()

"""The approximate copy search gives the same lists and decisions on every machine, thread count and process
(issue 25): under 1 and 2 BLAS threads, in two fresh processes, and in a round valued on a Dask cluster.
scripts/bench_approximate.py --determinism runs the same comparison on 100,000 rows."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from openledger_chain.attribution import attribute
from openledger_chain.attribution import cells
from openledger_chain.attribution import kernel as kernel_mod
from openledger_chain.attribution.dedup import NeighbourIndex, find_copies

distributed = pytest.importorskip("distributed")

HERE = Path(__file__).resolve().parent
SEED = int.from_bytes(hashlib.sha256(b"a registry block").digest(), "big")  # a block hash's size
# Cells of 32 rows, 3 probed: most true neighbours are not candidates, so the certified searches run often.
SMALL_CELLS = "cells.ROWS_PER_CELL, cells.APPROXIMATE_PROBES = 32, 3"


def digest() -> str:
    """sha256 of the approximate lists, decisions and derivatives on the planted-copies round."""
    from test_cells import planted_copies_round

    x, y, group, reference, ref_y = planted_copies_round()
    index = NeighbourIndex(x, reference, 50.0, search="approximate", seed=SEED)
    found = find_copies(x, y, group, reference, ref_y, copy_ratio=0.5, outlier_bound=50.0, index=index)
    h = hashlib.sha256()
    for part in (index.rows, found.reason, found.parent, np.array(sorted(found.derivative_of.items()), dtype=np.int64)):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


@pytest.fixture
def small_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cells, "ROWS_PER_CELL", 32)
    monkeypatch.setattr(cells, "APPROXIMATE_PROBES", 3)


def test_one_and_two_blas_threads_and_two_processes_give_the_same_lists_and_decisions(small_cells: None) -> None:
    with threadpool_limits(1):
        one = digest()
    with threadpool_limits(2):
        two = digest()
    assert one == two
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); from openledger_chain.attribution import cells; "
            f"{SMALL_CELLS}; import test_approximate_determinism as t; print(t.digest())")
    for threads in ("1", "2"):
        env = os.environ | {name: threads for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split()[-1] == one, threads


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_a_round_with_approximate_candidates_is_the_same_on_dask(
    tmp_path: Path, client: distributed.Client, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo's round with `copy_search: "approximate"` (cells of 8 rows, 3 probed), its valuation blocks run on
    Dask: the same report, the same method record (seed included) and the same allocations."""
    from openledger_chain.attribution.distributed import dask_valuation
    from test_distributed import _project

    monkeypatch.setattr(cells, "ROWS_PER_CELL", 8)
    monkeypatch.setattr(cells, "APPROXIMATE_PROBES", 3)
    monkeypatch.setattr(kernel_mod, "_CHUNK_ELEMENTS", 5_000)
    monkeypatch.setattr(kernel_mod, "_BLOCK_CHUNKS", 2)
    root = _project(tmp_path)
    spec = json.loads((root / "spec.json").read_text()) | {"copy_search": "approximate"}
    manifest = json.loads((root / "manifest.json").read_text())
    seed = hashlib.sha256(b"block").digest()
    here = attribute(spec, manifest, root / "eval.csv", base_dir=root, emission=10**21, copy_search_seed=seed)
    with dask_valuation(client=client) as runner:
        there = attribute(spec, manifest, root / "eval.csv", base_dir=root, emission=10**21, copy_search_seed=seed)
    assert runner.blocks_run > 2
    assert here.method["copy_search_seed"] == "0x" + seed.hex()
    assert there.to_json() == here.to_json() and there.allocations == here.allocations

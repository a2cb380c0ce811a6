"""Valuation on Dask (`openledger_chain.attribution.distributed`) is bit-for-bit the single-process one.

Real clusters throughout: a LocalCluster of 2 thread workers in this process for the value-level
tests (fast), and 2 worker processes for the CLI. The chunk and block sizes are shrunk so that
tiny data spans many chunks and blocks, where a different summation order changes the last bits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from eth_utils import keccak

from openledger_chain.attribution import Dataset, attribute
from openledger_chain.attribution.distributed import dask_valuation
from openledger_chain.attribution import cells as cells_mod
from openledger_chain.attribution import kernel as kernel_mod
from openledger_chain.attribution.cells import certified_knn
from openledger_chain.attribution.dedup import NeighbourIndex, find_copies
from openledger_chain.attribution.kernel import ChunkKernel, eval_blocks
from openledger_chain.attribution.methods.knn_shapley import _chunk_values as knn_chunk, knn_shapley_values
from openledger_chain.attribution.methods.tknn_shapley import _chunk_values as tknn_chunk, tknn_shapley_values
from openledger_chain.cli import main
from openledger_chain.errors import AttributionError, InputError

distributed = pytest.importorskip("distributed")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "attribution"


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    # Threads of this process, but a real TCP scheduler: the CLI test connects to it from a subprocess.
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                                       dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """300 rows x 40 points: 2 points per chunk, 3 chunks per block -> 20 chunks in 7 blocks."""
    monkeypatch.setattr(kernel_mod, "_CHUNK_ELEMENTS", 600)
    monkeypatch.setattr(kernel_mod, "_BLOCK_CHUNKS", 3)


def make_data(n: int, n_eval: int, classes: int, seed: int = 0) -> tuple[Dataset, Dataset]:
    rng = np.random.default_rng(seed)
    return (
        Dataset(rng.normal(size=(n, 4)), rng.integers(0, classes, n)),
        Dataset(rng.normal(size=(n_eval, 4)), rng.integers(0, classes, n_eval)),
    )


CASES = {
    "tknn default": lambda tr, ev: tknn_shapley_values(tr, ev, 2.0, 5, n_classes=3, n_labels=3),
    "tknn no radius, all vote": lambda tr, ev: tknn_shapley_values(tr, ev, None, None, n_classes=3, n_labels=3),
    "tknn values only": lambda tr, ev: tknn_shapley_values(tr, ev, 1.5, 3, n_classes=3),
    "knn": lambda tr, ev: knn_shapley_values(tr, ev, 5, n_labels=3),
}


@pytest.mark.parametrize("case", CASES)
def test_values_and_relabel_slopes_are_bit_for_bit_the_single_process_ones(
    case: str, client: distributed.Client, small_blocks: None
) -> None:
    train, ev = make_data(300, 40, 3)
    assert len(eval_blocks(300, 40)) == 7
    here = CASES[case](train, ev)
    with dask_valuation(client=client) as runner:
        there = CASES[case](train, ev)
    assert runner.blocks_run == 7  # really ran on the workers
    assert np.array_equal(there, here)


def test_the_data_is_sensitive_to_summation_order(small_blocks: None) -> None:
    """The equality above is not vacuous: on this data, summing the same chunk partials in one
    left fold (the order before blocks) gives other bits than block by block."""
    train, ev = make_data(300, 40, 3)
    kernel = ChunkKernel(tknn_chunk, train, ev, (2.0, 5, 3, 3))
    blocked = tknn_shapley_values(train, ev, 2.0, 5, n_classes=3, n_labels=3)
    chunks = [c for block in eval_blocks(300, 40) for c in block]
    flat: np.ndarray | float = 0.0
    for start, stop in chunks:
        flat += kernel(start, stop)
    assert not np.array_equal(np.asarray(flat) / 40, blocked)
    # ... and block by block by hand is exactly what the method returns.
    total: np.ndarray | float = 0.0
    for block in eval_blocks(300, 40):
        part = kernel(*block[0])
        for start, stop in block[1:]:
            part += kernel(start, stop)
        total += part
    assert np.array_equal(np.asarray(total) / 40, blocked)


def test_up_to_one_block_the_sum_is_the_former_left_fold_over_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks change nothing for problems of at most _BLOCK_CHUNKS chunks (the examples, the demo)."""
    monkeypatch.setattr(kernel_mod, "_CHUNK_ELEMENTS", 600)
    train, ev = make_data(300, 32, 2, seed=1)
    kernel = ChunkKernel(knn_chunk, train, ev, (5, 2))
    assert len(eval_blocks(300, 32)) == 1 and len(eval_blocks(300, 32)[0]) == 16
    flat: np.ndarray | float = 0.0
    for start, stop in eval_blocks(300, 32)[0]:
        flat += kernel(start, stop)
    assert np.array_equal(knn_shapley_values(train, ev, 5, n_labels=2, n_jobs=3), np.asarray(flat) / 32)


def _project(tmp_path: Path) -> Path:
    for f in EXAMPLE.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_a_whole_attribution_is_identical_on_dask(
    tmp_path: Path, client: distributed.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's round (copies, a label flipper, so both passes): same row values, report and allocations."""
    monkeypatch.setattr(kernel_mod, "_CHUNK_ELEMENTS", 5_000)  # ~500 rows: 10 points per chunk, many blocks
    monkeypatch.setattr(kernel_mod, "_BLOCK_CHUNKS", 2)
    root = _project(tmp_path)
    spec, manifest = json.loads((root / "spec.json").read_text()), json.loads((root / "manifest.json").read_text())
    here = attribute(spec, manifest, root / "eval.csv", base_dir=root, emission=10**21)
    with dask_valuation(client=client) as runner:
        there = attribute(spec, manifest, root / "eval.csv", base_dir=root, emission=10**21)
    assert runner.blocks_run > 4
    assert "revalued_without" in here.method  # the second pass ran, on Dask too
    assert np.array_equal(there.row_values, here.row_values)
    assert there.to_json() == here.to_json()
    assert there.allocations == here.allocations


def _cli(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["attribute", "--spec", "spec.json", "--contributions", "manifest.json", "--eval", "eval.csv",
            "--emission", "1000000000000000000000", *extra]
    return subprocess.run([str(Path(sys.executable).with_name("openledger")), *args], cwd=root, capture_output=True,
                          text=True, timeout=180)


def test_cli_attribute_on_a_scheduler_and_on_two_worker_processes_prints_the_same_document(
    tmp_path: Path, client: distributed.Client
) -> None:
    """`openledger attribute --scheduler tcp://...` (an existing cluster) and `--workers 2` (a
    LocalCluster of 2 worker processes started by the command): the document of one process."""
    root = _project(tmp_path)
    here = CliRunner().invoke(main, ["attribute", "--spec", str(root / "spec.json"), "--contributions",
                                     str(root / "manifest.json"), "--eval", str(root / "eval.csv"),
                                     "--emission", "1000000000000000000000"])
    assert here.exit_code == 0, here.output
    assert json.loads(here.stdout)["allocations"]
    for extra in (("--scheduler", client.scheduler.address), ("--workers", "2")):
        there = _cli(root, *extra)
        assert there.returncode == 0, there.stderr
        assert json.loads(there.stdout) == json.loads(here.stdout), extra


def test_round_propose_on_dask_writes_the_same_round_file(
    ledger, accounts, tmp_path: Path, client: distributed.Client,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from openledger_chain.oracle import propose_round
    from openledger_chain.types import ContributionKind, ModelParams

    monkeypatch.setattr(kernel_mod, "_CHUNK_ELEMENTS", 2_000)
    monkeypatch.setattr(kernel_mod, "_BLOCK_CHUNKS", 2)
    root = _project(tmp_path)
    spec = root / "spec.json"
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 1_000 * 10**18,
        1_000_000 * 10**18, "Stake", "STK",
    ))
    for name, who in (("alice.csv", accounts.alice), ("bob.csv", accounts.bob), ("carol.csv", accounts.carol)):
        content = keccak((root / name).read_bytes())
        ledger.register_contribution(who, model.model_id, ContributionKind.DATA, content, name)
    ledger.chain.mine_blocks(256)  # the registrations settle (ContributionRegistry.REVEAL_PERIOD_BLOCKS)
    ledger.commit_evaluation(accounts.owner, model.model_id, 1, keccak((root / "eval.csv").read_bytes()))
    args = dict(spec_path=spec, eval_path=root / "eval.csv", rounds_dir=root / "rounds", data_dir=root)
    path, _ = propose_round(ledger, model.model_id, **args)
    here = path.read_bytes()
    with dask_valuation(client=client) as runner:
        path_there, _ = propose_round(ledger, model.model_id, overwrite=True, **args)
    assert runner.blocks_run > 2
    assert path_there == path and path.read_bytes() == here
    # A guardian recomputes it on Dask too (`verify --scheduler`): the same scores.
    from openledger_chain.oracle import RecomputeInputs
    from openledger_chain.verify import verify_round

    with dask_valuation(client=client) as runner:
        checks = verify_round(ledger, round_file_path=path, attribution=RecomputeInputs(spec, root / "eval.csv", root)).checks
    assert runner.blocks_run > 2
    assert [(c.ok, c.detail) for c in checks if c.name == "attribution"] == [(True, "recomputed 3 scores: identical")]


def test_without_dask_installed_the_cli_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path)
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    result = CliRunner().invoke(main, ["attribute", "--spec", str(root / "spec.json"), "--contributions",
                                       str(root / "manifest.json"), "--eval", str(root / "eval.csv"), "--workers", "2"])
    assert result.exit_code == 1
    assert "Dask is not installed: pip install 'openledger-chain[dask]'" in result.output
    assert "Traceback" not in result.output


def test_workers_with_a_remote_scheduler_or_a_bad_address_are_refused() -> None:
    with pytest.raises(InputError, match="a remote scheduler's workers are its own"):
        with dask_valuation("tcp://127.0.0.1:8786", workers=2):
            pass
    with pytest.raises(InputError, match="tcp://host:8786"):
        with dask_valuation("127.0.0.1:8786"):
            pass


def test_a_worker_with_another_blas_kernel_is_refused() -> None:
    """OpenBLAS picks its kernel per CPU, and another kernel may round distances differently: a
    worker pinned to another one (as on a machine with another CPU) is refused before any valuing."""
    import threadpoolctl

    here = [i.get("architecture") for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
    if not here:
        pytest.skip("numpy does not use OpenBLAS here")
    other = "Sandybridge" if here[0] != "Sandybridge" else "Haswell"
    # OpenBLAS reads it when numpy loads, so it must be in the environment the worker is spawned
    # with; the nanny also writes its pre-spawn variables into this process's: restore both.
    saved = dict(os.environ)
    os.environ["OPENBLAS_CORETYPE"] = other
    try:
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        refused = pytest.raises(AttributionError, match=f"blas.*{other}.*OPENBLAS_CORETYPE")
        with distributed.Client(cluster) as c, refused:
            with dask_valuation(client=c):
                pass
    finally:
        cluster.close()


def test_copy_detection_neighbour_lists_on_dask_are_the_single_process_ones(
    client: distributed.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25 item 3: the certified cell search split over home cells, a block per task (here 13
    blocks of ~150 rows), gives the lists one process gives; a whole copy detection too."""
    monkeypatch.setattr(cells_mod, "_ROWS_PER_BLOCK", 150)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2000, 5)) + rng.integers(0, 4, size=(2000, 1)) * 5.0
    alone = certified_knn(x, 16, rows_per_cell=40)
    with dask_valuation(client=client) as runner:
        before = runner.blocks_run
        on_dask = certified_knn(x, 16, rows_per_cell=40, runner=runner)
        assert runner.blocks_run - before == len(cells_mod.cell_blocks(cells_mod.plan_cells(x, 16, rows_per_cell=40)))
        group = np.arange(len(x)) // 100
        y = np.zeros(len(x), dtype=np.int64)
        reference, ref_y = np.zeros((0, 5)), np.zeros(0, dtype=np.int64)
        index = NeighbourIndex(x, reference, 50.0, search="cells")  # inside dask_valuation: searched on the cluster
        assert runner.blocks_run > before + 13
    assert np.array_equal(on_dask, alone)
    here = find_copies(x, y, group, reference, ref_y, copy_ratio=0.5, outlier_bound=50.0,
                       index=NeighbourIndex(x, reference, 50.0, search="cells"))
    there = find_copies(x, y, group, reference, ref_y, copy_ratio=0.5, outlier_bound=50.0, index=index)
    assert there.reason.tolist() == here.reason.tolist() and there.parent.tolist() == here.parent.tolist()

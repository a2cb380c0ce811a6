"""The exact closed-form valuations on a Dask cluster, bit-for-bit equal to one process.

``tknn_shapley`` and ``knn_shapley`` are means over evaluation points of per-point value vectors
(:mod:`.methods.tknn_shapley`, :mod:`.methods.knn_shapley`), so they split over evaluation points:
:func:`.kernel.sum_over_eval_chunks` cuts the points into chunks and the chunks into blocks
(:func:`.kernel.eval_blocks`, fixed by the sizes alone). Inside :func:`dask_valuation`, each block
is one task on a worker: the worker sums its chunks' partials left to right
(:func:`.kernel.fold_in_order`, the function the single-process path uses), and this process adds
the block sums in block order, as the single-process path does.
The training set is scattered once to every worker (``broadcast=True``); a task carries only its
block's evaluation rows.

Floating-point addition is not associative, so the same additions in the same order are what
makes the result the same bits; nothing is summed in completion order. The other ingredient is
that every worker computes a chunk exactly as this process would: the same package and numpy
versions and the same BLAS kernel (OpenBLAS picks one per CPU; the Gram-matrix distances go
through it). :func:`dask_valuation` checks this on every worker before valuing anything; on a
cluster of mixed CPUs, set ``OPENBLAS_CORETYPE`` alike everywhere.

Usage (the CLI's ``--workers N`` / ``--scheduler ADDRESS`` do this)::

    with dask_valuation(workers=2):                       # a LocalCluster of 2 worker processes
        report = attribute(spec, manifest, "eval.csv")   # same report, same bits
    with dask_valuation("tcp://scheduler:8786"):         # an existing cluster
        ...

Requires the ``dask`` extra (``pip install 'openledger-chain[dask]'``) here and on the workers.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.base import ProgressCallback
from openledger_chain.attribution.cells import CellPlan, search_cells
from openledger_chain.attribution.kernel import ChunkKernel, current_runner, fold_in_order, in_this_process, use_runner
from openledger_chain.errors import AttributionError, InputError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DaskRunner", "block_sum", "current_runner", "dask_valuation", "in_this_process", "worker_environment"]

# `current_runner` and `in_this_process` live in :mod:`.kernel` (the valuations read the runner there) and
# are re-exported here, where users of the Dask backend look for them.

MISSING_DASK = "Dask is not installed: pip install 'openledger-chain[dask]' (dask and distributed)"


def block_sum(
    fn: Any, x_train: NDArray[np.float64], y_train: NDArray[np.int64], x_eval: NDArray[np.float64],
    y_eval: NDArray[np.int64], args: tuple[Any, ...], size: int,
) -> NDArray[np.float64]:
    """One block on a worker: its chunks of `size` points, summed in chunk order.

    A block starts on a chunk boundary, so ``range(0, len, size)`` is exactly its slice of the
    global chunks of :func:`.kernel.eval_blocks`.
    """
    from openledger_chain.attribution.utility import squared_norms

    norms = squared_norms(x_train)  # once per block, as the process computes it once per valuation
    return fold_in_order(
        fn(x_train, y_train, x_eval[start : start + size], y_eval[start : start + size], *args, train_norms=norms)
        for start in range(0, len(y_eval), size)
    )


def worker_environment() -> dict[str, Any]:
    """What decides a chunk's bits: package and numpy versions, numpy's BLAS and its CPU kernel."""
    import threadpoolctl

    from openledger_chain import __version__

    numpy_dir = os.path.dirname(np.__file__)
    blas = sorted(
        (info.get("internal_api", ""), info.get("version") or "", info.get("architecture") or "")
        for info in threadpoolctl.threadpool_info()
        if info.get("user_api") == "blas" and os.path.dirname(info.get("filepath", "")).startswith(numpy_dir)
    )
    return {"openledger-chain": __version__, "numpy": np.__version__, "blas": blas}


class DaskRunner:
    """Runs :class:`.kernel.ChunkKernel` blocks on a Dask client's workers (a :class:`.kernel.BlockRunner`).

    Args:
        client: A connected ``distributed.Client``.
        in_flight: Blocks submitted ahead of the one being summed (default: 2 per worker thread).
            Bounds what waits in worker memory: each block sum is (1 + labels) x N floats.
    """

    def __init__(self, client: Client, in_flight: int | None = None) -> None:
        self.client = client
        threads = sum(client.nthreads().values()) or 1
        self.in_flight = in_flight or 2 * threads
        #: Blocks run so far (the CLI warns when a method never used the cluster).
        self.blocks_run = 0

    def check_workers(self) -> None:
        """Refuse workers whose environment would compute different bits than this process.

        Raises:
            AttributionError: No worker, or a worker with another package, numpy or BLAS kernel.
        """
        here = worker_environment()
        there = self.client.run(worker_environment)
        if not there:
            raise AttributionError("the Dask cluster has no workers")
        for address, env in sorted(there.items()):
            if env != here:
                diff = ", ".join(f"{k} {env.get(k)} (here {here[k]})" for k in here if env.get(k) != here[k])
                raise AttributionError(
                    f"Dask worker {address} differs from this process: {diff}; results would not be bit-for-bit "
                    "the single-process ones (install the same versions; set OPENBLAS_CORETYPE alike everywhere)"
                )

    def cell_searches(
        self, points: NDArray[np.float64], plan: CellPlan, blocks: list[tuple[int, int]],
    ) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64]]]:
        """Copy detection's certified neighbour search, a block of home cells per task, in block order.

        The lists are exact whoever computes them, so this needs no bit-for-bit care beyond the
        valuations' (:meth:`check_workers`)."""
        self.check_workers()
        shared_points, shared_plan = self.client.scatter([points, plan], broadcast=True, hash=False)
        try:
            yield from self._in_order(
                len(blocks), lambda i, key: self.client.submit(search_cells, shared_points, shared_plan, *blocks[i],
                                                               key=key, pure=False),
                "searching neighbours")
        finally:
            shared_points.release()
            shared_plan.release()

    def block_sums(
        self, kernel: ChunkKernel, blocks: list[list[tuple[int, int]]], progress: ProgressCallback | None = None
    ) -> Iterator[NDArray[np.float64]]:
        """Each block's sum, in block order, computed on the workers."""
        self.check_workers()  # again per valuation: workers may have joined since the last one
        n_eval = len(kernel.eval_data)
        size = blocks[0][0][1] - blocks[0][0][0]
        # Once to every worker, not once per task; hash=False skips hashing a large array.
        x_train, y_train = self.client.scatter([kernel.train.x, kernel.train.y], broadcast=True, hash=False)

        def submit(i: int, key: str) -> Any:
            start, stop = blocks[i][0][0], blocks[i][-1][1]
            return self.client.submit(
                block_sum, kernel.fn, x_train, y_train, kernel.eval_data.x[start:stop], kernel.eval_data.y[start:stop],
                kernel.args, size, key=key, pure=False,
            )

        try:
            done = 0
            for block, part in zip(blocks, self._in_order(len(blocks), submit, "valuing"), strict=True):
                done += block[-1][1] - block[0][0]
                if progress is not None:
                    progress(done, n_eval)
                yield part
        finally:
            x_train.release()
            y_train.release()

    def _in_order(self, count: int, submit: Callable[[int, str], Any], doing: str) -> Iterator[Any]:
        """Task `i`'s result for i in 0..count-1, in that order, keeping `in_flight` tasks submitted ahead."""
        from distributed.scheduler import KilledWorker

        run = uuid.uuid4().hex[:12]
        pending: deque[Any] = deque()

        def ahead(i: int) -> None:
            pending.append(submit(i, f"openledger-{run}-{i}"))

        try:
            for i in range(min(self.in_flight, count)):
                ahead(i)
            for i in range(count):
                future = pending.popleft()
                try:
                    part = future.result()
                except (OSError, TimeoutError, KilledWorker) as exc:  # a lost worker or connection, not a bug here
                    raise AttributionError(f"the Dask cluster failed while {doing} block {i + 1} of {count}: "
                                           f"{type(exc).__name__}: {exc}") from exc
                future.release()
                if i + self.in_flight < count:
                    ahead(i + self.in_flight)
                self.blocks_run += 1
                yield part
        finally:
            for future in pending:
                future.cancel()


@contextmanager
def dask_valuation(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    processes: bool = True,
    client: Client | None = None,
) -> Iterator[DaskRunner]:
    """Value with the closed-form methods on Dask inside this block (same bits as one process).

    Args:
        scheduler: ``tcp://host:8786`` (an existing cluster), or None / ``"local"`` for a
            ``LocalCluster`` started here and closed on exit.
        workers: Workers of the LocalCluster (default: Dask's choice for this machine); not for
            a remote scheduler, whose workers are its own.
        processes: LocalCluster workers are processes (True) or threads of this process.
        client: Use this connected client instead (left open on exit).

    Raises:
        AttributionError: Dask is not installed, the scheduler does not answer, or a worker's
            environment differs (:meth:`DaskRunner.check_workers`).
        InputError: ``workers`` with a remote scheduler, or fewer than 1.
    """
    remote = scheduler not in (None, "local")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    if remote and workers is not None:
        raise InputError("--workers sizes a local cluster; a remote scheduler's workers are its own")
    if remote and not str(scheduler).startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise InputError(f"--scheduler must be 'local' or an address like tcp://host:8786, got {scheduler!r}")
    try:
        import distributed
    except ImportError as exc:
        raise AttributionError(MISSING_DASK) from exc

    cluster = None
    own_client = client is None
    try:
        if client is None:
            if remote:
                try:
                    client = distributed.Client(scheduler, timeout="15s")
                except (OSError, TimeoutError) as exc:
                    raise AttributionError(f"no Dask scheduler answers at {scheduler} ({exc})") from exc
            else:
                # The scheduler serves HTTP (health, metrics, the dashboard with bokeh) in any case, on
                # 8787 unless told, with a warning when another cluster holds it: take a free port.
                # Workers split the cores: each block task is single-threaded numpy.
                per_worker = max(1, (os.cpu_count() or 1) // workers) if workers else None
                cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=per_worker, processes=processes,
                    dashboard_address=":0", silence_logs=logging.ERROR,
                )
                client = distributed.Client(cluster)
        runner = DaskRunner(client)
        runner.check_workers()
        with use_runner(runner):
            yield runner
    finally:
        if own_client and client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

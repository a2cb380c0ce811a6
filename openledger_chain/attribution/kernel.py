"""The chunk kernel of the exact closed-form valuations: how a mean over evaluation points of per-point
value vectors is cut into chunks and blocks and summed in one fixed order, in this process or by a
:class:`BlockRunner` (the Dask backend, :mod:`.distributed`).

The valuations (:mod:`.methods.knn_shapley`, :mod:`.methods.tknn_shapley`, :mod:`.methods.tknn_baseline`,
:mod:`.methods.contributor_knn`) describe a chunk as a :class:`ChunkKernel` and call
:func:`sum_over_eval_chunks`; :mod:`.distributed` runs a kernel's blocks on workers with :func:`fold_in_order`
and installs itself with :func:`use_runner`. Both import this module and neither imports the other.
"""

from __future__ import annotations

import contextvars
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.base import ProgressCallback
from openledger_chain.attribution.cells import CellRunner
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.utility import squared_norms

__all__ = [
    "BlockRunner", "ChunkKernel", "current_runner", "eval_blocks", "fold_in_order", "in_this_process",
    "sum_over_eval_chunks", "use_runner",
]

# Elements per (chunk x N) work array: ~6 such float64/int64 arrays live per worker, so 2M
# elements keep a worker near 100 MB whatever N is.
_CHUNK_ELEMENTS = 2_000_000
# Chunks per block. Chunk partials are summed left to right within a block, then block sums left
# to right: a fixed tree that does not depend on who computes the blocks, so a block can run on
# any Dask worker and the sum is bit-for-bit the single-process one (:mod:`.distributed`). 16
# chunks (~32M row x evaluation-point pairs, a few seconds of one core) keep a block's result
# transfer, (1 + labels) x N floats, small against its compute. Up to 16 chunks this is exactly
# the former single left fold over chunks.
_BLOCK_CHUNKS = 16


@dataclass(frozen=True)
class ChunkKernel:
    """``chunk(start, stop)`` of :func:`sum_over_eval_chunks` as data, so a Dask worker can run it.

    ``fn(x_train, y_train, x_eval[start:stop], y_eval[start:stop], *args, train_norms=...)`` returns the
    summed value stack of evaluation points start..stop-1; ``fn`` is a module-level function (pickled by
    name).
    """

    fn: Callable[..., NDArray[np.float64]]
    train: Dataset
    eval_data: Dataset
    args: tuple[Any, ...]

    @cached_property
    def train_norms(self) -> NDArray[np.float64]:
        # Once per kernel (per worker on Dask), not once per chunk: at 1M rows the chunks hold 2
        # evaluation points and recomputing this was a third of the distance time.
        return squared_norms(self.train.x)

    def __call__(self, start: int, stop: int) -> NDArray[np.float64]:
        return self.fn(self.train.x, self.train.y, self.eval_data.x[start:stop], self.eval_data.y[start:stop], *self.args,
                       train_norms=self.train_norms)


class BlockRunner(CellRunner, Protocol):
    """Computes a kernel's block sums, and copy detection's cell searches, somewhere else
    (:class:`.distributed.DaskRunner`)."""

    def block_sums(
        self, kernel: ChunkKernel, blocks: list[list[tuple[int, int]]], progress: ProgressCallback | None = None
    ) -> Iterator[NDArray[np.float64]]:
        """Each block's sum (its chunks folded with :func:`fold_in_order`), in block order."""
        ...


#: The runner :func:`sum_over_eval_chunks` sends blocks to (None: this process).
_RUNNER: contextvars.ContextVar[BlockRunner | None] = contextvars.ContextVar("openledger_dask_runner", default=None)


def current_runner() -> BlockRunner | None:
    """The active :class:`BlockRunner` (inside :func:`.distributed.dask_valuation`); else None."""
    return _RUNNER.get()


@contextmanager
def use_runner(runner: BlockRunner | None) -> Iterator[None]:
    """Send :class:`ChunkKernel` blocks to `runner` inside this block (None: value in this process)."""
    token = _RUNNER.set(runner)
    try:
        yield
    finally:
        _RUNNER.reset(token)


def in_this_process() -> AbstractContextManager[None]:
    """Value in this process even inside :func:`.distributed.dask_valuation` (to compare the two on one cluster)."""
    return use_runner(None)


def eval_blocks(n: int, n_eval: int) -> list[list[tuple[int, int]]]:
    """The (start, stop) chunks of evaluation points, grouped into blocks of ``_BLOCK_CHUNKS``.

    Chunks hold about ``_CHUNK_ELEMENTS`` (points x N) elements. Depends only on the sizes, never
    on the number of threads or workers, so every way of running the sum adds the same partials.
    """
    size = max(1, _CHUNK_ELEMENTS // max(n, 1))
    chunks = [(start, min(start + size, n_eval)) for start in range(0, n_eval, size)]
    return [chunks[i : i + _BLOCK_CHUNKS] for i in range(0, len(chunks), _BLOCK_CHUNKS)]


def fold_in_order(parts: Iterable[NDArray[np.float64]]) -> NDArray[np.float64]:
    """``((p0 + p1) + p2) + ...``: the one order in which a block's chunk partials are summed, here
    and on Dask workers (floating-point addition is not associative). Adds into ``p0`` (a fresh
    array from a kernel)."""
    it = iter(parts)
    total = next(it)
    for part in it:
        total += part
    return total


def sum_over_eval_chunks(
    n: int,
    n_eval: int,
    chunk: Callable[[int, int], NDArray[np.float64]],
    *,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
) -> NDArray[np.float64]:
    """Mean over evaluation points of per-point value vectors, computed chunk by chunk.

    ``chunk(start, stop)`` returns the summed value vectors of evaluation points start..stop-1.
    Chunks (:func:`eval_blocks`) run on `n_jobs` threads (numpy releases the GIL in sorts and
    BLAS), or, inside :func:`.distributed.dask_valuation` (a :class:`BlockRunner`) and when `chunk` is a
    :class:`ChunkKernel`, block by block on Dask workers. Either way each block's chunks are summed
    in chunk order and the block sums in block order, so the float result is deterministic and the
    same bits on one machine or many.
    """
    if n == 0 or n_eval == 0:
        return chunk(0, 0) if n else np.zeros(0)
    blocks = eval_blocks(n, n_eval)
    runner = current_runner()
    if runner is not None and isinstance(chunk, ChunkKernel):
        sums = runner.block_sums(chunk, blocks, progress)
    else:
        sums = _local_block_sums(chunk, blocks, n_eval, n_jobs, progress)
    total: NDArray[np.float64] | float = 0.0
    for block_sum in sums:
        total += block_sum
    return np.asarray(total) / n_eval


def _local_block_sums(
    chunk: Callable[[int, int], NDArray[np.float64]],
    blocks: list[list[tuple[int, int]]],
    n_eval: int,
    n_jobs: int | None,
    progress: ProgressCallback | None,
) -> Iterator[NDArray[np.float64]]:
    """Block sums in block order, the chunks computed on threads of this process."""
    flat = [c for block in blocks for c in block]
    workers = max(1, min(n_jobs or min(os.cpu_count() or 1, 4), len(flat)))
    done = 0

    def run(bounds: tuple[int, int]) -> NDArray[np.float64]:
        return chunk(*bounds)

    def counted(parts: Iterable[NDArray[np.float64]], block: list[tuple[int, int]]) -> Iterator[NDArray[np.float64]]:
        nonlocal done
        for (start, stop), part in zip(block, parts):
            yield part
            done += stop - start
            if progress is not None:
                progress(done, n_eval)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        # map preserves chunk order; the partials are folded as they arrive, block by block.
        results = pool.map(run, flat)
        for block in blocks:
            yield fold_in_order(counted(itertools.islice(results, len(block)), block))

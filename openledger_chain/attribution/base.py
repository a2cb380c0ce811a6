"""Common interface of attribution methods (after pyDVL's ``Valuation``).

A method is configured in its constructor, run with ``fit(data)``, and read through ``.result``,
which raises before ``fit``. Sampled methods take a seed and are deterministic for it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from openledger_chain import __version__
from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.result import ValuationResult
from openledger_chain.errors import AttributionError

__all__ = ["NotFittedError", "ProgressCallback", "Valuation"]

#: Called as ``progress(done, total)`` while a method runs; the CLI wires a rich bar to it.
ProgressCallback = Callable[[int, int], None]


class NotFittedError(AttributionError):
    """``.result`` was read before ``fit`` was called."""


class Valuation(ABC):
    """Base class of attribution methods: ``fit(data) -> self``, then ``.result``."""

    algorithm_name: ClassVar[str]

    def __init__(self, progress: ProgressCallback | None = None) -> None:
        self._result: ValuationResult | None = None
        self._progress = progress

    @property
    def result(self) -> ValuationResult:
        """The values from the last ``fit``.

        Raises:
            NotFittedError: If ``fit`` has not been called.
        """
        if self._result is None:
            raise NotFittedError(f"{type(self).__name__}.result read before fit()")
        return self._result

    @abstractmethod
    def fit(self, data: Dataset) -> Valuation:
        """Value every row of `data` and store the outcome in ``.result``."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """Return the method parameters recorded in the result."""

    def _report(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress(done, total)

    def _make_result(
        self,
        data: Dataset,
        values: np.ndarray,
        *,
        variances: np.ndarray | None = None,
        counts: np.ndarray | None = None,
        seed: int | None = None,
        status: str = "exact",
        utility_all: float = float("nan"),
        utility_none: float = float("nan"),
        relabel_values: np.ndarray | None = None,
    ) -> ValuationResult:
        n = len(data)
        return ValuationResult(
            indices=np.arange(n, dtype=np.int64),
            values=np.asarray(values, dtype=np.float64),
            variances=np.zeros(n) if variances is None else np.asarray(variances, dtype=np.float64),
            counts=np.zeros(n, dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64),
            method=self.algorithm_name,
            params=self.params(),
            seed=seed,
            status=status,
            data_hash=data.hash(),
            version=__version__,
            utility_all=float(utility_all),
            utility_none=float(utility_none),
            relabel_values=relabel_values,
        )

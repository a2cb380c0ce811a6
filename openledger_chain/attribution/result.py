"""The outcome of one valuation run: row values plus everything needed to reproduce them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["ValuationResult"]


@dataclass(frozen=True)
class ValuationResult:
    """Values of the rows of one training set, with the run's provenance.

    Mirrors pyDVL's ``ValuationResult``: values and their sampling variances and counts per
    index, plus the method, its parameters, the seed, a hash of the data and the package version
    -- the method manifest of a round file is built from these fields.

    Attributes:
        indices: Row positions in the valued `Dataset`.
        values: Value of each row (float64; may be negative).
        variances: Sample variance of each value's estimator (zeros for exact methods).
        counts: Number of utility samples behind each value (zeros for exact methods).
        method: Algorithm name, e.g. ``"knn_shapley"``.
        params: Method parameters as given.
        seed: Random seed (None for deterministic methods).
        status: ``"exact"`` or ``"sampled"``.
        data_hash: SHA-256 of the training data and labels.
        version: openledger-chain package version.
        utility_all: Utility of the whole training set.
        utility_none: Utility of the empty set.
        relabel_values: (N, L) or None: the value row i would have with label code c, every
            other row unchanged (closed-form methods only; the noise test of :mod:`..noise`).
    """

    indices: NDArray[np.int64]
    values: NDArray[np.float64]
    variances: NDArray[np.float64]
    counts: NDArray[np.int64]
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    status: str = "exact"
    data_hash: str = ""
    version: str = ""
    utility_all: float = float("nan")
    utility_none: float = float("nan")
    relabel_values: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def manifest(self) -> dict[str, Any]:
        """Return the JSON-safe method manifest (everything but the per-row arrays)."""
        return {
            "name": self.method,
            "params": dict(self.params),
            "seed": self.seed,
            "status": self.status,
            "data_hash": self.data_hash,
            "version": self.version,
        }

"""In-memory training/evaluation data: float64 features and integer-encoded labels or float targets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Dataset"]


@dataclass(frozen=True)
class Dataset:
    """Features ``x`` (n, d) float64 and labels ``y`` (n,): int64 codes, or float64 targets.

    Classification labels are integer codes; the engine maps the CSV label strings to codes with
    one shared table, so train and eval codes agree. Regression targets (``task: "regression"``)
    are floats and stay floats.
    """

    x: NDArray[np.float64]
    y: NDArray[np.int64]

    def __post_init__(self) -> None:
        x = np.ascontiguousarray(self.x, dtype=np.float64)
        y = np.ascontiguousarray(self.y)
        y = y.astype(np.float64) if np.issubdtype(y.dtype, np.floating) else y.astype(np.int64)
        if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"Dataset needs x (n, d) and y (n,), got {x.shape} and {y.shape}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, indices: NDArray[np.integer]) -> Dataset:
        """Return the rows at `indices` as a new Dataset."""
        return Dataset(self.x[indices], self.y[indices])

    def hash(self) -> str:
        """SHA-256 over shape, features and labels (identifies the data a result was computed on)."""
        h = hashlib.sha256()
        h.update(np.asarray(self.x.shape, dtype=np.int64).tobytes())
        h.update(self.x.tobytes())
        h.update(self.y.tobytes())
        return h.hexdigest()

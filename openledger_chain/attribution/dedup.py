"""Credit each row once: exact and near-duplicates go to the earliest registration.

Rows are pooled in registration order (manifest order, then file order). A row is dropped when
an earlier *credited* row has the same label and lies within ``near_duplicate_distance`` of it
after standardizing every feature with the pooled mean and standard deviation. This applies
across contributors (copying earns nothing) and within one contributor (repeating one's own rows
earns nothing). Dropped rows are removed from the training set before valuation, so they neither
earn nor dilute anyone's value.

Comparing against credited rows only (not dropped ones) means a chain of small jitters cannot
creep away from the original: every credited row is at least the radius away from every earlier
credited row of its label.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sklearn.neighbors import KDTree

__all__ = ["credited_mask", "standardize"]


def standardize(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Z-score columns with the pooled statistics; constant columns are only centred."""
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def credited_mask(x: NDArray[np.float64], y: NDArray[np.int64], distance: float) -> NDArray[np.bool_]:
    """Return True for rows that are credited (first of their duplicate group, in row order).

    Args:
        x: Pooled features in registration order.
        y: Pooled label codes.
        distance: Standardized Euclidean radius; 0 drops exact duplicates only.

    Returns:
        Boolean mask of credited rows.
    """
    n = len(y)
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    if distance == 0:
        # Exact duplicates of (features, label): keep the first occurrence of each distinct row.
        rows = np.ascontiguousarray(np.column_stack([x, y.astype(np.float64)]))
        _, first = np.unique(rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))), return_index=True)
        keep[:] = False
        keep[first] = True
        return keep
    z = standardize(x)
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)  # ascending = registration order
        neighbours = KDTree(z[idx]).query_radius(z[idx], r=distance)
        kept_local = np.ones(len(idx), dtype=bool)
        for local, near in enumerate(neighbours):
            earlier = near[near < local]
            if earlier.size and kept_local[earlier].any():
                kept_local[local] = False
        keep[idx] = kept_local
    return keep

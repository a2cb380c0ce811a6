"""Credit each piece of data once: outliers, copies and derivatives earn nothing.

Everything here happens in the evaluation set's standardization (each feature z-scored with the
mean and standard deviation of the model's evaluation set), which no contributor controls, so no
contribution can stretch or shrink the space in which the others are compared.

1. **Outliers.** A row with a feature more than ``outlier_bound`` evaluation standard deviations
   from the evaluation mean is excluded. It takes no part in anything below.
2. **Derivatives (a ratio test, after Lowe 2004).** Rows are visited in registration order
   (manifest order, then file order), after the reference rows (the evaluation set and any
   previously revealed evaluation sets), which come first. A row ``r`` is a *derivative* of its
   nearest earlier kept row ``e`` when

       d(r, e) <= copy_ratio * s(e),

   where ``s(e)`` is the distance from ``e`` to its nearest kept row that came before ``r`` and lies
   elsewhere (distance > 0) -- when ``e`` belongs to another contribution, not counting rows of
   ``r``'s own contribution: the local spacing of real data around ``e`` at the time ``r``
   arrived, which ``r``'s own rows cannot shrink. (With no such row, only an exact repeat is a
   copy.) One global radius is
   either far smaller than the spacing of real rows (a copy moved just past it counts as new) or
   larger than it in dense regions (honest rows are dropped); the ratio adapts to the density
   around each row. The test looks at features only, not labels: a near-copy with another label
   is a copy too (otherwise copying a victim's rows with flipped labels would cut the victim's
   value at no cost to the copier). Derivatives are excluded, and only kept rows are ever
   compared against, so a chain of small moves cannot creep away from an original, and planted
   copies cannot shrink ``s(e)``.
3. **Derivative contributions.** Count, per earlier contribution (the evaluation set counts as
   one), the rows whose nearest earlier kept row is one of its rows and lies within
   ``2 * copy_ratio`` (1.0 by default) times the spacing. Independent data lands near a source in
   proportion to the source's share ``p`` of the earlier rows, and only about half of the time
   within the spacing: an expected fraction ``p / 2``. A copy lands near its source nearly
   always. When the fraction exceeds ``(1 + p) / 2``, the contribution is a derivative of that
   source and all its rows are excluded. A copy moved by up to about the spacing of real rows is
   caught here. "Earlier" is always
   registration order, so the earliest registration is credited.

Excluded rows are removed before valuation: they neither earn nor dilute anyone's value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.neighbors import NearestNeighbors

__all__ = ["CREDITED", "DERIVATIVE_CONTRIBUTION", "COPY", "COPY_OF_EVALUATION", "OUTLIER", "REASONS", "Dedup", "find_copies"]

CREDITED, OUTLIER, COPY, COPY_OF_EVALUATION, DERIVATIVE_CONTRIBUTION = range(5)
#: Reason codes -> names used in the round file.
REASONS = ("credited", "outlier", "copy", "copy_of_evaluation", "derivative_contribution")
#: Contribution index of reference (evaluation) rows.
REFERENCE = -1
_NEIGHBOURS = 16
#: Rows count toward a contribution-level copy up to this multiple of ``copy_ratio`` (rule 3).
CONTRIBUTION_FACTOR = 2.0


@dataclass(frozen=True)
class Dedup:
    """Outcome per contributed row, in pooled order.

    Attributes:
        reason: One of the reason codes (:data:`CREDITED` for rows that are valued).
        parent: Pooled index of the row a derivative copies (reference rows first, then
            contributed rows), -1 when none.
        derivative_of: Contribution index -> index of the earlier contribution it derives from
            (:data:`REFERENCE` for the evaluation set).
    """

    reason: NDArray[np.int8]
    parent: NDArray[np.int64]
    derivative_of: dict[int, int]

    @property
    def credited(self) -> NDArray[np.bool_]:
        return self.reason == CREDITED


def find_copies(
    x: NDArray[np.float64],
    group: NDArray[np.int64],
    reference: NDArray[np.float64],
    *,
    copy_ratio: float,
    outlier_bound: float,
) -> Dedup:
    """Decide which contributed rows are credited.

    Args:
        x: Contributed rows in registration order, already in evaluation-standardized units.
        group: Contribution index of each row (non-decreasing: registration order).
        reference: Evaluation (and previously revealed evaluation) rows in the same units; they
            come before every contributed row and are never credited to anyone.
        copy_ratio: The ratio of the derivative test (0 = exact copies only).
        outlier_bound: Maximum absolute standardized feature value of a usable row.

    Returns:
        The :class:`Dedup` outcome.
    """
    n, n_ref = len(x), len(reference)
    reason = np.zeros(n, dtype=np.int8)
    parent = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return Dedup(reason, parent, {})
    if np.any(np.diff(group) < 0):
        raise ValueError("rows must be in registration order")
    reason[np.abs(x).max(axis=1) > outlier_bound] = OUTLIER
    usable = np.flatnonzero(reason == CREDITED)
    # Pooled index space: reference rows 0..n_ref-1, then contributed row i at n_ref + i.
    pool = np.vstack([reference, x]) if n_ref else x
    pool_group = np.concatenate([np.full(n_ref, REFERENCE, dtype=np.int64), group])
    candidates = np.concatenate([np.arange(n_ref), n_ref + usable])
    neighbours = _neighbour_lists(pool[candidates], candidates)
    kept = np.zeros(n_ref + n, dtype=bool)
    kept[:n_ref] = True
    derivative_of: dict[int, int] = {}

    def nearest_kept(
        point: int, before: int, skip: int, skip_group: int | None = None, positive: bool = False
    ) -> tuple[int, float]:
        """Nearest kept pooled row with index < before, other than `skip`, not of `skip_group`,
        and with `positive`, not at distance 0 (a spacing). Returns (-1, inf) if none."""
        for j in neighbours.get(point, ()):
            if j < before and j != skip and kept[j] and (skip_group is None or pool_group[j] != skip_group):
                d = float(np.linalg.norm(pool[point] - pool[j]))
                if d > 0 or not positive:
                    return j, d
        earlier = np.flatnonzero(kept[:before])
        earlier = earlier[earlier != skip]
        if skip_group is not None:
            earlier = earlier[pool_group[earlier] != skip_group]
        d = np.linalg.norm(pool[earlier] - pool[point], axis=1)
        if positive:
            earlier, d = earlier[d > 0], d[d > 0]
        if not earlier.size:
            return -1, np.inf
        best = int(np.argmin(d))  # first minimum = earliest row at that distance
        return int(earlier[best]), float(d[best])

    start = 0
    for g in np.unique(group):
        stop = start + int(np.searchsorted(group[start:], g, side="right"))
        parents_here: dict[int, int] = {}
        kept_before = kept[: n_ref + start]
        pool_before = max(int(kept_before.sum()), 1)
        kept_by_source = dict(zip(*np.unique(pool_group[: n_ref + start][kept_before], return_counts=True)))
        for i in range(start, stop):
            if reason[i] != CREDITED:
                continue
            me = n_ref + i
            e, d = nearest_kept(me, me, me)
            if e >= 0:
                # The copier's own rows cannot shrink the spacing around another's row; around its
                # own earlier row, every row counts.
                _, spacing = nearest_kept(e, me, e, int(g) if pool_group[e] != g else None, positive=True)
                if pool_group[e] != g and d <= CONTRIBUTION_FACTOR * copy_ratio * spacing:
                    parents_here[int(pool_group[e])] = parents_here.get(int(pool_group[e]), 0) + 1
                if d == 0.0 or (np.isfinite(spacing) and d <= copy_ratio * spacing):
                    reason[i] = COPY_OF_EVALUATION if e < n_ref else COPY
                    parent[i] = e - n_ref if e >= n_ref else e
                    continue
            kept[me] = True
        usable_here = int(np.count_nonzero(reason[start:stop] != OUTLIER))
        for source, copied in sorted(parents_here.items(), key=lambda item: (-item[1], item[0])):
            # Independent rows land near a source in proportion to its share of the earlier rows
            # (and only about half of them within the spacing); a copy lands near it nearly always.
            share = kept_by_source.get(source, 0) / pool_before
            if copied > usable_here * (1 + share) / 2:
                derivative_of[int(g)] = source
                rows = np.arange(start, stop)
                whole = rows[reason[start:stop] == CREDITED]
                reason[whole] = DERIVATIVE_CONTRIBUTION
                kept[n_ref + whole] = False
                break
        start = stop
    return Dedup(reason, parent, derivative_of)


def _neighbour_lists(points: NDArray[np.float64], index: NDArray[np.int64]) -> dict[int, NDArray[np.int64]]:
    """Pooled index -> the pooled indices of its nearest rows (itself included), nearest first.

    A short list answers almost every query of :func:`find_copies`; a query it cannot answer (all
    listed rows later or excluded) falls back to an exact scan, so results never depend on the
    list length.
    """
    if len(points) < 2:
        return {}
    k = min(_NEIGHBOURS, len(points))
    _, local = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(points)
    return dict(zip(index.tolist(), index[local]))

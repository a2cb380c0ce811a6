"""Credit each piece of data once: outliers, copies and derivatives earn nothing.

Everything here happens in the evaluation set's standardization (each feature z-scored with the
mean and standard deviation of the model's evaluation set), which no contributor controls, so no
contribution can stretch or shrink the space in which the others are compared.

Rows are visited in registration order (manifest order, then file order), after the reference
rows (the evaluation set and any previously revealed evaluation sets), which come first and are
never credited to anyone. Write ``rho`` for ``copy_ratio`` (0.5 by default).

1. **Outliers.** A row with a feature more than ``outlier_bound`` evaluation standard deviations
   from the evaluation mean is excluded. It takes no part in anything below.
2. **Copies (a ratio test, after Lowe 2004).** Let ``e`` be the nearest earlier kept row of row
   ``r`` *with the same label*, and ``s(e)`` the *spacing* around ``e``: the distance from ``e``
   to its nearest kept row (any label) that came before ``r``, lies elsewhere (distance > 0), and
   -- when ``e`` belongs to another contribution -- is not one of ``r``'s own contribution's rows
   (so ``r``'s own rows cannot shrink it). ``r`` is a copy of ``e`` when

       d(r, e) <= rho * s(e)      (or d(r, e) = 0).

   One global radius is either far smaller than the spacing of real rows (a copy moved just past
   it counts as new) or larger than it in dense regions (honest rows are dropped); the ratio
   adapts to the density around each row. A near-copy with *another* label is not a copy: it
   contradicts the earlier row, and the valuation prices the contradiction (a label flipper's
   rows are worth less than nothing, and the engine revalues without identities that earn
   nothing, so flipped copies cannot cut anyone's pay -- whether registered before or after the
   rows they contradict).
3. **One row per original.** Within one contribution, only the first row near an earlier row
   ``e`` of another contribution (within ``1.5 rho s(e)``) can be kept: a second row near the same
   ``e`` is a copy. Several rows around one original (a "ring" of moved copies, each just past
   the ratio) add no information about ``e``'s neighbourhood that the first did not.
4. **Derivative contributions.** Count the contribution's *usable* rows: not outliers, not copies
   of its own earlier rows, and within ``relevance_radius`` of some evaluation row (rows farther
   out are worth nothing, so padding a file with them must not dilute the counts). Then:

   * *one source*: per earlier contribution (the evaluation set counts as one), the rows whose
     nearest earlier kept row is one of its rows, within ``2 rho s(e)``. Independent data lands
     near a source in proportion to the source's share ``p`` of the earlier rows, and only about
     half of the time that close: an expected fraction of about ``p / 2``. A copy lands near its
     source nearly always. Above ``(1 + p) / 2`` of the usable rows, the contribution is a
     derivative of that source. The same count is also made against the earlier contributions'
     files *as registered* (every row that is not an outlier, kept or not, ``p`` their share of
     such rows): a copy of a file whose own rows were partly excluded (an honest file that
     repeats evaluation rows, say) lands near the excluded rows as much as near the kept ones.
     Either count makes a derivative; excluded rows are only ever counted, never compared
     against in rules 2-3, and a spacing is always measured among kept rows;
   * *many sources*: the rows within ``1.5 rho s(e)`` of any earlier kept row of another
     contribution. Independent data has 6-32% of its rows there on average (at most 64% in a
     10-row contribution of iris' coarse measurements, in scripts/gaming_report.py's splits); a
     copy mixed from many victims nearly 100%. Above 80%, the contribution is a derivative of
     its most frequent source.

   A derivative contribution has all its rows excluded.

Only kept rows are ever compared against, so a chain of small moves cannot creep away from an
original through excluded rows. "Earlier" is always registration order: the earliest registration
is credited. Excluded rows are removed before valuation: they neither earn nor dilute anyone's
value. What this does not catch (new points fabricated from others' rows at about the spacing of
real rows) is measured in scripts/gaming_report.py and stated in docs/attribution.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from openledger_chain.attribution.cells import ApproximateLists, approximate_knn, certified_knn
from openledger_chain.attribution.kernel import current_runner

__all__ = [
    "COPY",
    "COPY_OF_EVALUATION",
    "CREDITED",
    "DERIVATIVE_CONTRIBUTION",
    "OUTLIER",
    "REASONS",
    "REFERENCE",
    "Dedup",
    "NeighbourIndex",
    "find_copies",
]

CREDITED, OUTLIER, COPY, COPY_OF_EVALUATION, DERIVATIVE_CONTRIBUTION = range(5)
#: Reason codes -> names used in the round file.
REASONS = ("credited", "outlier", "copy", "copy_of_evaluation", "derivative_contribution")
#: Contribution index of reference (evaluation) rows.
REFERENCE = -1
#: Radii of rule 3 and of rule 4's many-sources count, and of rule 4's one-source count, in
#: multiples of ``copy_ratio``.
NEAR_FACTOR = 1.5
ONE_SOURCE_FACTOR = 2.0
#: Rule 4: fraction of usable rows near earlier rows above which a contribution is a derivative.
MANY_SOURCES_FRACTION = 0.8
_NONE = -2  # no contribution (REFERENCE is -1)
_NEIGHBOURS = 32
#: From this many rows on, the neighbour lists come from the certified cell search (same lists, found
#: faster on large data: scripts/bench_copy_search.py) instead of scikit-learn's tree search.
CELL_SEARCH_FROM_ROWS = 50_000
#: ... unless a sample of cells computes more than this fraction of a brute-force search's distances.
CELL_SEARCH_GIVES_UP_ABOVE = 0.25
#: From this many searched rows on, ``copy_search: "auto"`` takes approximate candidates (exact decisions):
#: an exact search of bench_round.py's data takes ~30 s at 100,000 rows here and grows quadratically.
APPROXIMATE_FROM_ROWS = 200_000
#: With approximate candidates, a decision against a row is certified by searching every cell that may hold a nearer
#: row; when more cells than this may, the decision goes the row's way instead (a copy may be missed: measured in
#: scripts/bench_approximate.py). Unbounded, this tail made the certified search grow as n^1.7.
CERTIFY_CELLS = 128
#: Lists kept converted to Python lists by _Lists.get: a row's list is asked for again within a few rows.
_CONVERTED = 64


class _BeyondBudget(Exception):
    """More than CERTIFY_CELLS cells may hold a row nearer than the one found: not certified."""


@dataclass(frozen=True)
class Dedup:
    """Outcome per contributed row, in pooled order.

    Attributes:
        reason: One of the reason codes (:data:`CREDITED` for rows that are valued).
        parent: For a copy, the row it copies: a contributed row index, or for
            :data:`COPY_OF_EVALUATION` a reference row index; -1 when none.
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
    y: NDArray[np.int64],
    group: NDArray[np.int64],
    reference: NDArray[np.float64],
    reference_y: NDArray[np.int64],
    *,
    copy_ratio: float,
    outlier_bound: float,
    relevance_radius: float | None = None,
    index: NeighbourIndex | None = None,
    rows: NDArray[np.int64] | None = None,
) -> Dedup:
    """Decide which contributed rows are credited (rules 1-4 of the module docstring).

    Args:
        x: Contributed rows in registration order, already in evaluation-standardized units.
        y: Their label codes.
        group: Contribution index of each row (non-decreasing: registration order).
        reference: Evaluation (and previously revealed evaluation) rows in the same units.
        reference_y: Their label codes.
        copy_ratio: ``rho`` of the tests (0 = exact copies only).
        outlier_bound: Maximum absolute standardized feature value of a usable row.
        relevance_radius: Rows farther than this from every reference row do not count in rule
            4's fractions (None: every row counts).
        index: A :class:`NeighbourIndex` built over these rows or a superset of them (the same
            reference rows and outlier bound), so that several runs over subsets share one search.
        rows: The positions of `x`'s rows among the rows `index` was built over (default: all of them).

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
    relevant = np.ones(n, dtype=bool)
    if relevance_radius is not None and n_ref:
        if index is None:
            relevant = _reference_distances(x, reference) <= relevance_radius
        else:
            relevant = index.reference_distances()[np.arange(n) if rows is None else rows] <= relevance_radius
    # Pooled index space: reference rows 0..n_ref-1, then contributed row i at n_ref + i.
    pool = np.vstack([reference, x]) if n_ref else x
    pool_group = np.concatenate([np.full(n_ref, REFERENCE, dtype=np.int64), group])
    pool_y = np.concatenate([np.asarray(reference_y, dtype=np.int64), np.asarray(y, dtype=np.int64)])
    if index is None:
        index = NeighbourIndex(x, reference, outlier_bound)
    neighbours = index.view(np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64))
    margin = neighbours.margin
    # Byte arrays with numpy views: the hot loop below indexes them from Python, the scans use numpy.
    kept_bytes, registered_bytes = bytearray(n_ref + n), bytearray(n_ref + n)
    kept = np.frombuffer(kept_bytes, dtype=np.bool_)
    registered = np.frombuffer(registered_bytes, dtype=np.bool_)  # reference rows and earlier files' usable rows
    kept[:n_ref] = True
    registered[:n_ref] = True
    group_of, label_of = pool_group.tolist(), pool_y.tolist()
    kept_by_source: dict[int, int] = {REFERENCE: n_ref} if n_ref else {}
    kept_total = n_ref  # sum of kept_by_source, kept up to date (summing it per contribution is quadratic)
    registered_by_source, registered_total = dict(kept_by_source), kept_total
    derivative_of: dict[int, int] = {}

    def nearest_kept(
        point: int, before: int, skip: int, skip_group: int | None = None, positive: bool = False, label: int | None = None,
        of_registered: bool = False, exact: bool = False, within: float = np.inf,
    ) -> tuple[int, float]:
        """Nearest kept pooled row (with `of_registered`, registered row) with index < before, other than
        `skip`, not of `skip_group`, with `label` if given, and with `positive`, not at distance 0 (a
        spacing); ties go to the earliest row. Returns (-1, inf) if none.

        With approximate candidates the answer is the nearest among the row's candidates: its distance is an
        upper bound of the true one. With `exact` it is the true nearest row, certified (see below), if it is nearer
        than `within`; otherwise a row at least `within` away, and no row is nearer than `within`."""
        among, among_bytes = (registered, registered_bytes) if of_registered else (kept, kept_bytes)
        found: tuple[int, float] | None = None
        listed = neighbours.get(point)
        if listed is not None:
            rows, dist = listed
            best_j, best_d = -1, np.inf
            for j, d in zip(rows, dist):
                if j < 0:
                    continue  # not a row of this run
                if d > best_d + margin:
                    # The list is ordered by an approximate distance, good to within the margin: no
                    # row further down (or left out) can be as near as the best one.
                    found = best_j, best_d
                    break
                if (
                    j < before and j != skip and among_bytes[j]
                    and (skip_group is None or group_of[j] != skip_group)
                    and (label is None or label_of[j] == label)
                    and (d > 0 or not positive)
                    and (d < best_d or (d == best_d and j < best_j))
                ):
                    best_j, best_d = j, d
            else:
                if best_j >= 0 and neighbours.complete:
                    found = best_j, best_d
        if neighbours.approximate:
            if found is None:
                # The nearest among the row's candidate cells, by exact distances.
                found = scan(neighbours.candidates(point), among, point, before, skip, skip_group, positive, label)
            if found[0] >= 0 and exact:
                # Certified: every cell that could hold a row as near as the one found is searched too (the
                # bisector bound of cells.ApproximateLists.reach); usually none is.
                try:
                    wider = neighbours.within(point, pool[point], min(found[1], within), before)
                except _BeyondBudget:
                    uncertified[0] = True
                    wider = None
                if wider is not None:
                    found = scan(wider, among, point, before, skip, skip_group, positive, label)
            if found[0] >= 0:
                return found
            found = None  # none among the candidates: the whole scan
        if found is not None:
            return found
        return scan(np.flatnonzero(among[:before]), among, point, before, skip, skip_group, positive, label)

    def scan(
        earlier: NDArray[np.int64], among: NDArray[np.bool_], point: int, before: int, skip: int,
        skip_group: int | None, positive: bool, label: int | None,
    ) -> tuple[int, float]:
        """Nearest of the increasing rows `earlier` that pass nearest_kept's filters, by exact distances."""
        earlier = earlier[: np.searchsorted(earlier, before)]  # increasing: the rows < before come first
        earlier = earlier[among[earlier] & (earlier != skip)]
        if skip_group is not None:
            earlier = earlier[pool_group[earlier] != skip_group]
        if label is not None:
            earlier = earlier[pool_y[earlier] == label]
        d = np.linalg.norm(pool[earlier] - pool[point], axis=1)
        if positive:
            earlier, d = earlier[d > 0], d[d > 0]
        if not earlier.size:
            return -1, np.inf
        best = int(np.argmin(d))  # first minimum = earliest row at that distance
        return int(earlier[best]), float(d[best])

    # With approximate candidates a distance found is the nearest among the row's candidates: an upper bound of the
    # true one. A spacing too large makes a ratio too small, so a row could look like a copy that is not. Every decision
    # against a row (a copy, rule 3, a derivative contribution) is therefore made again on certified distances
    # (`judged`) before it stands; decisions in the row's favour may rest on the candidates (a copy may be missed:
    # scripts/bench_approximate.py measures how many). A missed copy stays kept, and a later row must not be excluded
    # as a copy of it: a decision against a row also requires that its original was rightly kept (`missed`).
    certain = not neighbours.approximate
    first_row = dict(zip(*(a.tolist() for a in np.unique(group, return_index=True))))
    judgements: dict[int, tuple[int, float, bool, float, bool]] = {}
    uncertified = [False]  # set by nearest_kept(exact=True) when certifying needed more than CERTIFY_CELLS cells
    first_seen = np.full(n, np.inf)  # each row's nearest distance among its candidates (an upper bound)

    def judged(me: int) -> tuple[int, float, bool, float, bool]:
        """(e, d(me, e), e is of me's contribution, ratio, certified) for row `me` as when it was judged (every search
        stops before `me`, and nothing before it has changed since), on certified distances. When certifying needed
        more than CERTIFY_CELLS cells the ratio is inf (the decision goes the row's way) and `certified` False."""
        found = judgements.get(me)
        if found is None:
            g_me = group_of[me]
            uncertified[0] = False
            e, d = nearest_kept(me, me, me, label=label_of[me], exact=True)
            own = e >= 0 and group_of[e] == g_me
            # Every rule compares the ratio with at most rho: a spacing of d / rho or more decides them all alike.
            spacing = (nearest_kept(e, me, e, None if own else g_me, positive=True, exact=True,
                                    within=d / copy_ratio if copy_ratio > 0 else np.inf)[1] if e >= 0 else np.inf)
            ratio = d / spacing if 0 < spacing < np.inf else np.inf
            found = judgements[me] = (e, d, own, np.inf if uncertified[0] else ratio, not uncertified[0])
        return found

    def missed(e: int) -> bool:
        """Whether kept row `e` is a copy by rule 2 or 3 on certified distances (the approximate path missed it)."""
        if certain or e < n_ref:
            return False
        original, d, own, ratio, certified = judged(e)
        if not certified or d == 0.0 or ratio <= copy_ratio:  # not certified: the row judged against e keeps its way
            return True
        if own or ratio > NEAR_FACTOR * copy_ratio:
            return False
        rows = np.arange(n_ref + first_row[group_of[e]], e)  # rule 3: an earlier row of e's contribution near it
        # Only a row whose candidates' nearest was no nearer than `original` can have it as its nearest.
        rows = rows[(reason[rows - n_ref] != OUTLIER) & (pool_y[rows] == label_of[original])
                    & (np.linalg.norm(pool[rows] - pool[original], axis=1) <= first_seen[rows - n_ref] * (1 + 1e-9))]
        for j in rows.tolist():
            near, d_j, own_j, ratio_j, certified_j = judged(j)
            if not certified_j:
                return True
            if near == original and not own_j and d_j > 0.0 and copy_ratio < ratio_j <= NEAR_FACTOR * copy_ratio:
                return True
        return False

    def near_registered_row(me: int, first: int, exact: bool, known: tuple[int, float] | None = None) -> int:
        """Rule 4's count against files as registered: the contribution whose registered row `me` lies near (rows
        before `first`), or _NONE. `known`: a row of another contribution and its spacing, if already measured."""
        uncertified[0] = False
        r, d_r = nearest_kept(me, first, me, label=label_of[me], of_registered=True, exact=exact)
        if r < 0:
            return _NONE
        # Usually the nearest registered row is the nearest kept one, whose spacing we have.
        spacing_r = (known[1] if known is not None and known[0] == r else nearest_kept(
            r, me, r, group_of[me], positive=True, exact=exact,
            within=d_r / (ONE_SOURCE_FACTOR * copy_ratio) if copy_ratio > 0 else np.inf)[1])
        near = d_r == 0.0 or (0 < spacing_r < np.inf and d_r <= ONE_SOURCE_FACTOR * copy_ratio * spacing_r)
        return group_of[r] if near and not uncertified[0] else _NONE

    def derived(near: list[tuple[int, int, float]], near_registered: list[tuple[int, int]], counted: int,
                pool_before: int, registered_before: int) -> int | None:
        """Rule 4 from the rows counted near earlier rows: the source the contribution derives from, or None."""
        near_source: dict[int, int] = {}
        for _, source, _ in near:
            near_source[source] = near_source.get(source, 0) + 1
        near_any = sum(1 for _, _, ratio in near if ratio <= NEAR_FACTOR * copy_ratio)
        shares = {source: kept_by_source.get(source, 0) / pool_before for source in near_source}
        found = _derived_from(near_source, near_any, counted, shares)
        if found is None:
            by_file: dict[int, int] = {}
            for _, source in near_registered:
                by_file[source] = by_file.get(source, 0) + 1
            registered_shares = {source: registered_by_source.get(source, 0) / registered_before for source in by_file}
            found = _derived_from(by_file, 0, counted, registered_shares)
        return found

    start = 0
    for g in np.unique(group).tolist():
        stop = start + int(np.searchsorted(group[start:], g, side="right"))
        pool_before = max(kept_total, 1)
        registered_before = max(registered_total, 1)
        counted = 0  # usable rows of rule 4
        # (usable row, source, ratio) near an earlier row of another contribution (within 2 rho s(e)), and (usable
        # row, source) near an earlier contribution's file as registered.
        near_rows: list[tuple[int, int, float]] = []
        registered_rows: list[tuple[int, int]] = []
        originals: dict[int, int] = {}  # earlier rows of others this contribution already has a row near -> that row
        for i in range(start, stop):
            if reason[i] != CREDITED:
                continue
            me = n_ref + i
            e, d = nearest_kept(me, me, me, label=label_of[me])
            first_seen[i] = d
            if e < 0:
                counted += int(relevant[i])
                kept[me] = True
                continue
            own = group_of[e] == g
            # The copier's own rows cannot shrink the spacing around another's row; around its own
            # earlier row, every row counts. With no spacing at all, only an exact repeat is a copy.
            spacing: float | None = nearest_kept(e, me, e, None if own else g, positive=True)[1]
            ratio = d / spacing if 0 < spacing < np.inf else np.inf
            is_copy = d == 0.0 or ratio <= copy_ratio
            second = not is_copy and not own and ratio <= NEAR_FACTOR * copy_ratio and e in originals
            if not certain and (is_copy or second):
                e, d, own, ratio, _ = judged(me)
                spacing = None
                is_copy = (d == 0.0 or ratio <= copy_ratio) and not missed(e)
                # Rule 3 on certified distances: the first row near e was near it too, and e was rightly kept.
                second = (not is_copy and not own and ratio <= NEAR_FACTOR * copy_ratio and e in originals
                          and judged(originals[e])[0] == e and judged(originals[e])[3] <= NEAR_FACTOR * copy_ratio
                          and not missed(e))
            if relevant[i] and not (is_copy and own):
                counted += 1
                if not own and ratio <= ONE_SOURCE_FACTOR * copy_ratio:
                    near_rows.append((me, group_of[e], ratio))
                source_r = near_registered_row(me, n_ref + start, exact=False,
                                               known=None if own or spacing is None else (e, spacing))
                if source_r != _NONE:
                    registered_rows.append((me, source_r))
            if not is_copy and not own and ratio <= NEAR_FACTOR * copy_ratio:
                is_copy = second  # rule 3: a second row around the same original
                originals.setdefault(e, me)
            if is_copy:
                reason[i] = COPY_OF_EVALUATION if e < n_ref else COPY
                parent[i] = e - n_ref if e >= n_ref else e
                continue
            kept[me] = True
        source = derived(near_rows, registered_rows, counted, pool_before, registered_before)
        if source is not None and not certain:
            # A derivative is a decision against the whole contribution: counted again on certified distances, only
            # rows whose original was rightly kept.
            exact_near, exact_registered = [], []
            for me, _, _ in near_rows:
                e, _, own, ratio, _ = judged(me)
                if not own and ratio <= ONE_SOURCE_FACTOR * copy_ratio and not missed(e):
                    exact_near.append((me, group_of[e], ratio))
            for me, _ in registered_rows:
                source_r = near_registered_row(me, n_ref + start, exact=True)
                if source_r != _NONE:
                    exact_registered.append((me, source_r))
            source = derived(exact_near, exact_registered, counted, pool_before, registered_before)
        if source is not None:
            derivative_of[g] = source
            rows = np.arange(start, stop)
            whole = rows[reason[start:stop] == CREDITED]
            reason[whole] = DERIVATIVE_CONTRIBUTION
            kept[n_ref + whole] = False
        kept_by_source[g] = int(np.count_nonzero(kept[n_ref + start : n_ref + stop]))
        registered[n_ref + start : n_ref + stop] = reason[start:stop] != OUTLIER
        registered_by_source[g] = int(np.count_nonzero(registered[n_ref + start : n_ref + stop]))
        registered_total += registered_by_source[g]
        kept_total += kept_by_source[g]
        start = stop
    return Dedup(reason, parent, derivative_of)


def _reference_distances(x: NDArray[np.float64], reference: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each row's distance to its nearest reference row (rule 4's relevance)."""
    from sklearn.neighbors import NearestNeighbors  # here: importing scikit-learn takes ~2.5 s (see estimators.py)

    return NearestNeighbors(n_neighbors=1).fit(reference).kneighbors(x)[0][:, 0]


def _derived_from(near_source: dict[int, int], near_any: int, counted: int, shares: dict[int, float]) -> int | None:
    """Rule 4: the source a contribution derives from, or None."""
    if not near_source:
        return None
    ranked = sorted(near_source.items(), key=lambda item: (-item[1], item[0]))
    for source, count in ranked:
        if count > counted * (1 + shares.get(source, 0.0)) / 2:
            return source
    if near_any > MANY_SOURCES_FRACTION * counted:
        return ranked[0][0]
    return None


class NeighbourIndex:
    """Each usable row's nearest usable rows, reference rows included, with their exact distances.

    Pooled index space: reference rows ``0..n_ref-1``, then contributed row ``i`` at ``n_ref + i``.
    A short list answers almost every query of :func:`find_copies`; a query it cannot answer (all
    listed rows later or excluded, or a possible tie with an unlisted row) falls back to an exact
    scan, so results never depend on the list length. Distances are recomputed the way the scan
    computes them, so both paths agree to the last bit. Built once, it serves runs over any subset of
    its rows (:meth:`view`): the nearest rows of a subset are its nearest rows overall, less the others.
    The lists come from scikit-learn's search or, on large data, from the certified cell search of
    :mod:`~openledger_chain.attribution.cells` (``search``: "auto", "sklearn" or "cells"); both are exact,
    so the outcome of :func:`find_copies` does not depend on which ran. ``search="approximate"`` takes
    :func:`~openledger_chain.attribution.cells.approximate_knn`'s lists instead: each row's nearest rows
    among its candidate cells, the same on every machine; a query the list cannot answer is answered
    from all the row's candidates (exact distances), and only when none qualifies from every row. A distance
    found among candidates is an upper bound, so :func:`find_copies` makes every decision against a row on
    distances certified by the cells' bisector bound (:meth:`_Lists.within`).
    """

    def __init__(
        self, x: NDArray[np.float64], reference: NDArray[np.float64], outlier_bound: float, *, search: str = "auto",
        seed: int = 0,
    ) -> None:
        n_ref = len(reference)
        self._x, self._reference = x, reference
        self._reference_distance: NDArray[np.float64] | None = None
        usable = np.flatnonzero(np.abs(x).max(axis=1) <= outlier_bound) if len(x) else np.zeros(0, dtype=np.int64)
        pool = np.vstack([reference, x]) if n_ref else x
        candidates = np.concatenate([np.arange(n_ref), n_ref + usable])
        points = pool[candidates]
        self.n_ref, self.n_rows = n_ref, len(x)
        self.slot = np.full(len(pool), -1, dtype=np.int64)
        self.slot[candidates] = np.arange(len(candidates))
        # The search orders rows by |a|^2 + |b|^2 - 2ab, whose rounding error is at most about
        # (features + 2) * eps * 2 max|a|^2: twice its square root bounds how far its order can be off
        # in distance (worst near 0). Rows within this of each other may be listed out of order.
        largest = float(np.sqrt((points * points).sum(axis=1).max())) if len(points) else 0.0
        self.margin = 2.0 * largest * float(np.sqrt(2.0 * (points.shape[1] + 2) * np.finfo(np.float64).eps))
        k = min(_NEIGHBOURS, len(points))
        self.complete = k == len(points)  # every list holds every candidate
        self.approximate: ApproximateLists | None = None
        self.candidate_rows = candidates
        self._pooled: dict[int, NDArray[np.int64]] = {}
        if k < 2:
            self.rows = np.zeros((len(candidates), 0), dtype=np.int64)
            self.dist = np.zeros((len(candidates), 0))
            return
        if search not in ("auto", "sklearn", "cells", "approximate"):
            raise ValueError(f"search must be auto, sklearn, cells or approximate, not {search!r}")
        local = None
        if search == "approximate":
            self.approximate = approximate_knn(points, k, seed=seed)
            local = self.approximate.lists
            # A list's first cut is made on the grid: a row left out may be nearer than a listed one by
            # up to twice the grid's error.
            self.margin += 2.0 * self.approximate.error
        elif search == "cells" or (search == "auto" and len(points) >= CELL_SEARCH_FROM_ROWS):
            # On data where cells rule out little, scikit-learn's search is the faster way to the same lists.
            local = certified_knn(points, k, runner=current_runner(),
                                  give_up_above=CELL_SEARCH_GIVES_UP_ABOVE if search == "auto" else None)
        if local is None:
            from sklearn.neighbors import NearestNeighbors

            _, local = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(points)
        self.rows = candidates[local]
        if self.approximate is not None:
            self.dist = self.approximate.distances  # computed as below, once per list
            return
        self.dist = np.empty(local.shape)
        for lo in range(0, len(points), 4096):  # bounded memory: 4096 x k x features at a time
            hi = min(lo + 4096, len(points))
            self.dist[lo:hi] = np.linalg.norm(points[local[lo:hi]] - points[lo:hi, None, :], axis=2)

    def reference_distances(self) -> NDArray[np.float64]:
        """Each row's distance to its nearest reference row, computed once for every run over the index (at 1,000,000
        rows each run computed it again: 8 s)."""
        if self._reference_distance is None:
            self._reference_distance = _reference_distances(self._x, self._reference)
        return self._reference_distance

    def pooled_members(self, cells: NDArray[np.int64]) -> NDArray[np.int64]:
        """The rows of approximate cells `cells`, as pooled rows, increasing."""
        assert self.approximate is not None
        members = self.approximate.members
        return self.candidate_rows[np.sort(np.concatenate([members[c] for c in cells]))]

    def pooled_candidates(self, cell: int) -> NDArray[np.int64]:
        """The candidates of the rows of approximate cell `cell`, as pooled rows, increasing (kept once made)."""
        assert self.approximate is not None
        found = self._pooled.get(cell)
        if found is None:
            # candidate_rows is increasing, so mapping keeps the order.
            found = self._pooled[cell] = self.candidate_rows[self.approximate.cell_candidates(cell)]
        return found

    def view(self, rows: NDArray[np.int64]) -> _Lists:
        """The lists of a run over contributed rows `rows` (increasing), in that run's pooled space."""
        if len(rows) == self.n_rows:
            return _Lists(self, None, None)
        pool_of = np.concatenate([np.arange(self.n_ref), self.n_ref + rows])
        local_of = np.full(self.n_ref + self.n_rows, -1, dtype=np.int64)
        local_of[pool_of] = np.arange(len(pool_of))
        return _Lists(self, pool_of, local_of)


class _Lists:
    """:class:`NeighbourIndex` lists seen from one run over a subset of its rows."""

    def __init__(self, index: NeighbourIndex, pool_of: NDArray[np.int64] | None, local_of: NDArray[np.int64] | None) -> None:
        self.index, self.local_of = index, local_of
        self.margin, self.complete = index.margin, index.complete
        self.approximate = index.approximate is not None
        # find_copies asks from Python for a row's list several times per row (as the row judged, as the row whose
        # spacing is measured, for rule 4's registered rows): a plain list of slots in this run's pooled space, the
        # lists mapped to it once for the whole run (-1: a row not in it), and the last rows' lists kept converted.
        self._slot: list[int] = (index.slot if pool_of is None else index.slot[pool_of]).tolist()
        # The mapped copy in 32 bits: 128 MB at 1,000,000 rows, not 256 (2**31 rows would not fit in memory anyway).
        self._rows = index.rows if local_of is None else local_of.astype(np.int32)[index.rows]
        self._converted: dict[int, tuple[list[int], list[float]]] = {}
        self._local_candidates: dict[int, NDArray[np.int64]] = {}

    def candidates(self, point: int) -> NDArray[np.int64]:
        """Every candidate row of `point` (approximate search), increasing, in this run's pooled space."""
        index = self.index
        approximate = index.approximate
        i = self._slot[point]
        if approximate is None or i < 0:
            return np.zeros(0, dtype=np.int64)
        cell = int(approximate.home[i])
        if self.local_of is None:
            return index.pooled_candidates(cell)
        # Kept once made, as the index keeps them pooled: a cell's rows fall back to its candidates again and again.
        local = self._local_candidates.get(cell)
        if local is None:
            local = self.local_of[index.pooled_candidates(cell)]
            local = self._local_candidates[cell] = local[local >= 0]
        return local

    def within(self, point: int, coordinates: NDArray[np.float64], distance: float, before: int) -> NDArray[np.int64] | None:
        """With approximate candidates: the rows before `before` (increasing, in this run's pooled space) of the cells
        that may hold a row within `distance` of `point` (at `coordinates`): its candidates and any other such cell's
        rows (all rows before `before` when that is most cells). None when its candidates are all (no other cell
        comes that near). Raises _BeyondBudget when more than CERTIFY_CELLS other cells may."""
        index = self.index
        approximate = index.approximate
        i = self._slot[point]
        if approximate is None or i < 0:
            return None
        home = int(approximate.home[i])
        reach = approximate.reach(coordinates, home)
        needed = reach <= distance
        wider = int(np.count_nonzero(needed & (reach > -np.inf)))
        if not wider:
            return None
        if wider > CERTIFY_CELLS:
            raise _BeyondBudget
        if wider > len(reach) // 4:  # gathering and sorting most cells' rows costs more than a plain scan
            return np.arange(before)
        pooled = index.pooled_members(np.flatnonzero(needed))
        if self.local_of is None:
            return pooled
        local = self.local_of[pooled]
        return local[local >= 0]

    def get(self, point: int) -> tuple[list[int], list[float]] | None:
        """`point`'s list in this run's pooled space (-1: a row not in the run) and their distances, or None."""
        found = self._converted.get(point)
        if found is not None:
            return found
        i = self._slot[point]
        if i < 0 or not self._rows.shape[1]:
            return None
        rows, dist = self._rows[i].tolist(), self.index.dist[i].tolist()
        if len(self._converted) >= _CONVERTED:
            self._converted.clear()
        found = self._converted[point] = rows, dist
        return found

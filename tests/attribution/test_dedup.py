"""Copy and outlier detection against a plain, independent reading of its definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from openledger_chain.attribution import dedup
from openledger_chain.attribution.dedup import (
    COPY,
    COPY_OF_EVALUATION,
    CREDITED,
    DERIVATIVE_CONTRIBUTION,
    OUTLIER,
    REFERENCE,
    find_copies,
)


def brute_force(x, y, group, reference, reference_y, ratio, bound, radius=None):  # type: ignore[no-untyped-def]
    """The module docstring's rules 1-4 read literally: O(n^2) per row, no neighbour lists."""
    points = [*reference, *x]
    owner = [REFERENCE] * len(reference) + list(group)
    label = [*reference_y, *y]
    n_ref = len(reference)
    kept = [True] * n_ref + [False] * len(x)
    reason = [CREDITED] * len(x)
    derivative_of = {}
    dist = lambda a, b: float(np.linalg.norm(points[a] - points[b]))  # noqa: E731
    relevant = [radius is None or not n_ref or min(dist(n_ref + i, j) for j in range(n_ref)) <= radius for i in range(len(x))]
    for g in sorted(set(group)):
        rows = [i for i in range(len(x)) if group[i] == g]
        before = [j for j in range(n_ref + rows[0]) if kept[j]]
        registered = [j for j in range(n_ref + rows[0]) if j < n_ref or reason[j - n_ref] != OUTLIER]
        near_source: dict[int, int] = {}
        near_registered: dict[int, int] = {}
        near_any = counted = 0
        originals: set[int] = set()
        for i in rows:
            me = n_ref + i
            if np.abs(x[i]).max() > bound:
                reason[i] = OUTLIER
                continue
            earlier = [j for j in range(me) if kept[j]]
            same = [j for j in earlier if label[j] == label[me]]
            if not same:
                counted += relevant[i]
                kept[me] = True
                continue
            e = min(same, key=lambda j: (dist(me, j), j))
            d = dist(me, e)
            own = owner[e] == g
            others = [j for j in earlier if j != e and dist(e, j) > 0 and (own or owner[j] != g)]
            spacing = min((dist(e, j) for j in others), default=math.inf)
            t = d / spacing if 0 < spacing < math.inf else math.inf
            copy = d == 0 or t <= ratio
            if relevant[i] and not (copy and own):
                counted += 1
                if not own and t <= 2 * ratio:
                    near_source[owner[e]] = near_source.get(owner[e], 0) + 1
                if not own and t <= 1.5 * ratio:
                    near_any += 1
                same_registered = [j for j in registered if label[j] == label[me]]
                if same_registered:
                    r = min(same_registered, key=lambda j: (dist(me, j), j))
                    around = [j for j in earlier if j != r and dist(r, j) > 0 and owner[j] != g]
                    s_r = min((dist(r, j) for j in around), default=math.inf)
                    if dist(me, r) == 0 or (s_r < math.inf and dist(me, r) <= 2 * ratio * s_r):
                        near_registered[owner[r]] = near_registered.get(owner[r], 0) + 1
            if not copy and not own and t <= 1.5 * ratio:
                copy = e in originals
                originals.add(e)
            if copy:
                reason[i] = COPY_OF_EVALUATION if e < n_ref else COPY
                continue
            kept[me] = True
        source = None
        ranked = sorted(near_source.items(), key=lambda kv: (-kv[1], kv[0]))
        for src, count in ranked:
            share = sum(1 for j in before if owner[j] == src) / max(len(before), 1)
            if count > counted * (1 + share) / 2:
                source = src
                break
        if source is None and ranked and near_any > 0.8 * counted:
            source = ranked[0][0]
        for src, count in sorted(near_registered.items(), key=lambda kv: (-kv[1], kv[0])):
            share = sum(1 for j in registered if owner[j] == src) / max(len(registered), 1)
            if source is None and count > counted * (1 + share) / 2:
                source = src
        if source is not None:
            derivative_of[g] = source
            for i in rows:
                if reason[i] == CREDITED:
                    reason[i] = DERIVATIVE_CONTRIBUTION
                    kept[n_ref + i] = False
    return reason, derivative_of


def random_case(seed: int):  # type: ignore[no-untyped-def]
    """Honest clusters, jittered copies at several scales, exact repeats and one outlier."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 5))
    reference = rng.normal(size=(int(rng.integers(0, 6)), d))
    parts = [rng.normal(size=(int(rng.integers(1, 7)), d)) for _ in range(int(rng.integers(2, 6)))]
    for _ in range(2):  # copies of an earlier part, moved by a random fraction of the spacing
        src = parts[int(rng.integers(0, len(parts)))]
        parts.append(src + rng.normal(scale=float(rng.choice([0.0, 0.05, 0.3, 1.0])), size=src.shape))
    if len(reference):
        parts.append(reference[: int(rng.integers(1, len(reference) + 1))] + 1e-3)
    parts[-1] = np.vstack([parts[-1], parts[0][:1], np.full((1, d), 40.0)])
    x = np.vstack(parts)
    group = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    classes = int(rng.integers(1, 3))
    return x, rng.integers(0, classes, len(x)), group, reference, rng.integers(0, classes, len(reference))


@pytest.mark.parametrize("seed", range(60))
def test_matches_the_definition_on_random_sets(seed: int) -> None:
    x, y, group, reference, ref_y = random_case(seed)
    radius = None if seed % 2 else 2.0
    got = find_copies(x, y, group, reference, ref_y, copy_ratio=0.5, outlier_bound=25.0, relevance_radius=radius)
    reason, derivative_of = brute_force(x, y, group, reference, ref_y, 0.5, 25.0, radius)
    assert got.reason.tolist() == reason
    assert got.derivative_of == derivative_of


def test_short_neighbour_lists_fall_back_to_exact_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    for seed in range(20):
        x, y, group, reference, ref_y = random_case(seed)
        full = find_copies(x, y, group, reference, ref_y, copy_ratio=0.5, outlier_bound=25.0)
        monkeypatch.setattr(dedup, "_NEIGHBOURS", 2)
        short = find_copies(x, y, group, reference, ref_y, copy_ratio=0.5, outlier_bound=25.0)
        monkeypatch.undo()
        assert short.reason.tolist() == full.reason.tolist()


@pytest.mark.parametrize("lists", [16, 3])
@pytest.mark.parametrize("seed", range(20))
def test_a_run_over_a_subset_gives_the_same_with_the_whole_rounds_index(
    seed: int, lists: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's second pass reuses the first pass's neighbour search, filtered to its rows (with
    short lists, filtering leaves some empty: the exact scans answer)."""
    monkeypatch.setattr(dedup, "_NEIGHBOURS", lists)
    x, y, group, reference, ref_y = random_case(seed)
    index = dedup.NeighbourIndex(x, reference, 25.0)
    dropped = np.random.default_rng(seed).choice(np.unique(group))
    rows = np.flatnonzero(group != dropped)
    alone = find_copies(x[rows], y[rows], group[rows], reference, ref_y, copy_ratio=0.5, outlier_bound=25.0)
    shared = find_copies(x[rows], y[rows], group[rows], reference, ref_y, copy_ratio=0.5, outlier_bound=25.0,
                         index=index, rows=rows)
    assert shared.reason.tolist() == alone.reason.tolist()
    assert shared.parent.tolist() == alone.parent.tolist() and shared.derivative_of == alone.derivative_of


def grid(n: int, spacing: float = 1.0) -> np.ndarray:
    return np.array([[spacing * i, 0.0] for i in range(n)])


def test_a_copy_moved_under_the_ratio_is_a_copy_and_over_it_is_not() -> None:
    honest = grid(10)
    group = np.array([0] * 10 + [1] + [2] * 4)
    # Spacing 1: ratios 0.45 and 0.55; contribution 2 also holds rows of its own, far away.
    x = np.vstack([honest, [[3.0, 0.45]], [[6.0, 0.55]], [[0.0, 5.0], [0.0, 9.0], [5.0, -7.0]]])
    got = find_copies(x, np.zeros(len(x), int), group, np.zeros((0, 2)), np.zeros(0, int), copy_ratio=0.5, outlier_bound=25.0)
    assert got.reason[10] == COPY and got.parent[10] == 3
    assert np.all(got.reason[:10] == CREDITED)
    assert got.reason[11] == CREDITED


def test_spacing_ignores_the_copiers_own_rows_and_exact_repeats() -> None:
    """Planting rows of its own next to the victim's row cannot shrink the spacing the copier is
    judged by, and an exact repeat elsewhere does not make the spacing 0."""
    x = np.vstack([grid(5), [[2.0, 0.0]], [[2.0, 0.2], [2.0, 0.4]]])
    group = np.array([0] * 5 + [1] + [2, 2])
    got = find_copies(x, np.zeros(len(x), int), group, np.zeros((0, 2)), np.zeros(0, int), copy_ratio=0.5, outlier_bound=25.0)
    assert got.reason[5] == COPY  # exact repeat of row 2
    assert got.reason[6:].tolist() == [COPY, COPY]  # 0.2 and 0.4 from row 2, spacing 1


def test_outlier_is_excluded_and_changes_no_other_decision() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    group = np.repeat(np.arange(4), 10)
    reference = rng.normal(size=(10, 3))
    base = find_copies(x, np.zeros(40, int), group, reference, np.zeros(10, int), copy_ratio=0.5, outlier_bound=25.0)
    poisoned = find_copies(
        np.vstack([[[1e6, 0, 0]], x]), np.zeros(41, int), np.concatenate([[0], group]), reference, np.zeros(10, int),
        copy_ratio=0.5, outlier_bound=25.0,
    )
    assert poisoned.reason[0] == OUTLIER
    assert poisoned.reason[1:].tolist() == base.reason.tolist()


def test_contribution_mostly_near_one_source_is_a_derivative_of_it() -> None:
    rng = np.random.default_rng(5)
    reference = rng.normal(size=(30, 4)) * 3
    victim = rng.normal(size=(30, 4)) * 3
    others = rng.normal(size=(30, 4)) * 3
    earlier = np.vstack([reference, victim, others])
    spacing = np.sort(np.linalg.norm(victim[:, None] - earlier[None], axis=2), axis=1)[:, 1]
    direction = rng.normal(size=victim.shape)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    copy = victim + 0.7 * spacing[:, None] * direction  # past the row test (0.5), within 2 x 0.5
    x = np.vstack([victim, others, copy])
    group = np.repeat([0, 1, 2], 30)
    got = find_copies(x, np.zeros(len(x), int), group, reference, np.zeros(len(reference), int), copy_ratio=0.5, outlier_bound=25.0)
    assert got.derivative_of == {2: 0}
    assert np.all(got.reason[60:] != CREDITED)
    # In 4 dimensions about 1 honest row in 10 lies within half the spacing of an earlier row:
    # the price of the test in low dimensions (docs/attribution.md, "What it costs").
    assert np.count_nonzero(got.reason[:60] != CREDITED) <= 6


def test_copies_of_evaluation_rows_are_attributed_to_the_evaluation_set() -> None:
    rng = np.random.default_rng(7)
    reference = rng.normal(size=(20, 3))
    honest = rng.normal(size=(20, 3))
    leak = reference + 1e-3 * rng.normal(size=reference.shape)
    got = find_copies(np.vstack([honest, leak]), np.zeros(40, int), np.repeat([0, 1], 20), reference, np.zeros(20, int),
                      copy_ratio=0.5, outlier_bound=25.0)
    assert np.all(got.reason[20:] == COPY_OF_EVALUATION)
    assert got.derivative_of == {1: REFERENCE}
    assert np.count_nonzero(got.reason[:20] != CREDITED) <= 2


def test_copy_ratio_zero_drops_exact_copies_only() -> None:
    x = np.vstack([grid(4), [[1.0, 0.0]], [[2.0, 1e-9]]])
    got = find_copies(x, np.zeros(6, int), np.array([0] * 4 + [1, 2]), np.zeros((0, 2)), np.zeros(0, int), copy_ratio=0.0,
                      outlier_bound=25.0)
    assert got.reason[4:].tolist() == [COPY, CREDITED]


def test_rows_must_come_in_registration_order() -> None:
    with pytest.raises(ValueError, match="registration order"):
        find_copies(np.zeros((2, 1)), np.zeros(2, int), np.array([1, 0]), np.zeros((0, 1)), np.zeros(0, int), copy_ratio=0.5,
                    outlier_bound=25.0)


def test_a_near_copy_with_another_label_is_not_a_copy() -> None:
    x = np.vstack([grid(5), [[2.0, 0.1]], [[3.0, 0.1]]])
    y = np.array([0] * 5 + [1, 0])
    got = find_copies(x, y, np.array([0] * 5 + [1, 2]), np.zeros((0, 2)), np.zeros(0, int), copy_ratio=0.5, outlier_bound=25.0)
    assert got.reason[5:].tolist() == [CREDITED, COPY]

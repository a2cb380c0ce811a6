"""Largest-remainder allocation: exact sums, floors, ties, bounds, and split (sybil) rounding."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openledger_chain.address import is_address, normalize_address, to_checksum_address
from openledger_chain.errors import InputError
from openledger_chain.rewards import MAX_UINT256, SCORE_SCALE, allocate, allocate_quantized, quantize


def addr(i: int) -> str:
    return to_checksum_address("0x" + f"{i:040x}")


def test_addresses_follow_eip55() -> None:
    # EIP-55 test vectors.
    for good in ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                 "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"]:
        assert normalize_address(good.lower()) == good and normalize_address(good.upper().replace("0X", "0x")) == good
        assert is_address(good) and not is_address(good[:-1] + ("a" if good[-1] != "a" else "b"))
    for bad in ["5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x123", 42, None, "0x" + "g" * 40]:
        assert not is_address(bad)
        with pytest.raises(InputError, match="bad address"):
            normalize_address(bad)


def test_largest_remainder_and_tie_by_address() -> None:
    assert allocate({addr(2): 1.0, addr(1): 2.0}, 10) == {addr(2): 3, addr(1): 7}
    # Three equal scores, emission 2: equal remainders, the two lowest addresses get the units.
    out = allocate({addr(3): 1, addr(1): 1, addr(2): 1}, 2)
    assert out == {addr(3): 0, addr(1): 1, addr(2): 1}


def test_zero_and_negative_scores_get_nothing() -> None:
    out = allocate({addr(1): -5.0, addr(2): 0.0, addr(3): 1e-3}, 10**18)
    assert out == {addr(1): 0, addr(2): 0, addr(3): 10**18}


def test_max_emission_sums_exactly() -> None:
    out = allocate({addr(i): 1.0 / (i + 1) for i in range(7)}, MAX_UINT256)
    assert sum(out.values()) == MAX_UINT256


@pytest.mark.parametrize(
    "scores, emission",
    [
        ({addr(1): float("nan")}, 1),
        ({addr(1): float("inf")}, 1),
        ({addr(1): "1"}, 1),
        ({"0x123": 1.0}, 1),
        ({"0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed": 1.0}, 1),  # wrong checksum case
        ({"0x" + "ab" * 20: 1.0, "0x" + "AB" * 20: 2.0}, 1),
        ({addr(1): 0.0}, 5),
        ({addr(1): 1.0}, -1),
        ({addr(1): 1.0}, MAX_UINT256 + 1),
    ],
)
def test_bad_input_raises(scores: dict, emission: int) -> None:
    with pytest.raises(InputError):
        allocate(scores, emission)


scores_st = st.lists(
    st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-(10**6), 10**30)), min_size=1, max_size=30
)


@settings(max_examples=300, deadline=None)
@given(scores_st, st.integers(0, MAX_UINT256))
def test_sum_exact_and_within_one_unit(raw: list, emission: int) -> None:
    scores = {addr(i + 1): s for i, s in enumerate(raw)}
    q = quantize(scores)
    if emission > 0 and sum(q.values()) == 0:
        with pytest.raises(InputError):
            allocate(scores, emission)
        return
    out = allocate(scores, emission)
    assert sum(out.values()) == emission
    total = sum(q.values())
    for a, amount in out.items():
        assert amount >= 0
        if q[a] == 0:
            assert amount == 0
        else:
            assert abs(amount - Fraction(emission * q[a], total)) < 1


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(1, 10**21), min_size=1, max_size=10),
    st.lists(st.integers(0, 10**21), min_size=2, max_size=6),
    st.integers(1, 10**24),
)
def test_splitting_gains_at_most_k_units(others: list[int], parts: list[int], emission: int) -> None:
    """A quantized score split over k identities: each allocation is within one unit of its exact
    share and exact shares add up, so the split total exceeds the unsplit amount by < k + 1."""
    k = len(parts)
    rest = {addr(i + 1): s for i, s in enumerate(others)}
    unsplit = allocate_quantized({addr(1000): sum(parts)} | rest, emission)[addr(1000)]
    split_out = allocate_quantized({addr(1000 + j): p for j, p in enumerate(parts)} | rest, emission)
    assert sum(split_out[addr(1000 + j)] for j in range(k)) <= unsplit + k


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0, 1e3), min_size=2, max_size=6))
def test_quantizing_parts_never_beats_quantizing_the_whole(parts: list[float]) -> None:
    exact_whole = sum(Fraction(p) for p in parts)
    whole_q = (exact_whole * SCORE_SCALE).__floor__()
    parts_q = quantize({addr(1000 + j): p for j, p in enumerate(parts)})
    assert sum(parts_q.values()) <= whole_q


def test_quantize_is_exact_floor() -> None:
    assert quantize({addr(1): 0.1})[addr(1)] == (Fraction(0.1) * SCORE_SCALE).__floor__()
    assert quantize({addr(1): 3})[addr(1)] == 3 * SCORE_SCALE


def test_allocate_quantized_emission_zero() -> None:
    assert allocate_quantized({addr(1): 0}, 0) == {addr(1): 0}

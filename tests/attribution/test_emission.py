"""Emission tied to measured improvement (issue 23): min(cap, rate x max(0, U_now - U_before)), exact."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from openledger_chain.attribution import attribute
from openledger_chain.attribution.emission import Improvement, improvement_emission, round_improvement
from openledger_chain.errors import InputError

E = 10**18


def test_improvement_emission_by_hand() -> None:
    assert improvement_emission(0.75, 0.5, rate=E, cap=E) == E // 4
    assert improvement_emission(0.75, 0.5, rate=10 * E, cap=E) == E  # the cap binds
    assert improvement_emission(0.5, 0.75, rate=E, cap=E) == 0  # worse: nothing, never negative
    assert improvement_emission(0.5, 0.5, rate=E, cap=E) == 0
    # Exact arithmetic on the floats, rounded down: 0.3 - 0.1 is 0.19999999999999998335 in binary,
    # 199999999 steps of 1e-9, times 10 is 1.99999999.
    assert improvement_emission(0.3, 0.1, rate=10, cap=100) == 1
    assert improvement_emission(0.3, 0.1, rate=10**9, cap=10**9) == 199_999_999


def test_float_dust_mints_nothing() -> None:
    """The same rows valued in another order: utilities 2.2e-16 apart (measured), no improvement."""
    u = 0.8496296296296296
    assert improvement_emission(u + 2.220446049250313e-16, u, rate=20 * 10**24, cap=10**24) == 0
    assert improvement_emission(0.5 + 2e-9, 0.5, rate=10**18, cap=10**18) == 2 * 10**9  # a real gain of two steps


@pytest.mark.parametrize("kwargs", [{"rate": -1, "cap": 1}, {"rate": 1, "cap": 2**256}, {"rate": True, "cap": 1}])
def test_improvement_emission_rejects_bad_policy(kwargs: dict[str, int]) -> None:
    with pytest.raises(InputError):
        improvement_emission(0.9, 0.8, **kwargs)


def test_improvement_emission_rejects_non_finite_utility() -> None:
    with pytest.raises(InputError, match="U_now"):
        improvement_emission(float("nan"), 0.5, rate=1, cap=1)


def _csv(path: Path, rows: list[tuple[float, str]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["f0", "y"])
        w.writerows(rows)


def test_round_improvement_on_a_hand_computed_round(tmp_path: Path) -> None:
    """1-NN soft accuracy on two evaluation points, 0 (label a) and 10 (label b).

    Previous final round: one row at 1 (a): both evaluation points' nearest row says a, U_before = 1/2.
    This round adds a row at 9 (b): each point's nearest row has its label, U_now = 1.
    Minted: min(cap, rate x 1/2) = rate / 2."""
    _csv(tmp_path / "eval.csv", [(0.0, "a"), (10.0, "b")])
    _csv(tmp_path / "old.csv", [(1.0, "a")])
    _csv(tmp_path / "new.csv", [(9.0, "b")])
    # Exact copies only and no noise test, so both one-row contributions are valued as they are.
    spec = {"label": "y", "method": {"name": "knn_shapley", "k": 1}, "copy_ratio": 0, "noise_margin": 0,
            "kind_shares_bps": {"data": 10000}}
    old = {"id": "old", "contributor": "0x" + "01" * 20, "kind": "data", "path": "old.csv"}
    new = {"id": "new", "contributor": "0x" + "02" * 20, "kind": "data", "path": "new.csv"}
    before = attribute(spec, [old], tmp_path / "eval.csv", base_dir=tmp_path)
    now = attribute(spec, [old, new], tmp_path / "eval.csv", base_dir=tmp_path)
    assert (before.utility["all"], now.utility["all"]) == (0.5, 1.0)
    assert round_improvement(now, before, rate=E, cap=E) == Improvement(1.0, 0.5, E // 2)
    assert round_improvement(before, before, rate=E, cap=E).emission == 0  # nothing new: nothing minted
    # Before the first final round, U_before is the utility of no data (0 for knn_shapley).
    assert round_improvement(before, None, rate=E, cap=E) == Improvement(0.5, 0.0, E // 2)


def test_round_improvement_refuses_another_evaluation_set(tmp_path: Path) -> None:
    _csv(tmp_path / "eval.csv", [(0.0, "a"), (10.0, "b")])
    _csv(tmp_path / "old.csv", [(1.0, "a")])
    spec = {"label": "y", "method": {"name": "knn_shapley", "k": 1}, "copy_ratio": 0, "noise_margin": 0}
    rep = attribute(spec, [{"id": "old", "contributor": "0x" + "01" * 20, "kind": "data", "path": "old.csv"}],
                    tmp_path / "eval.csv", base_dir=tmp_path)
    now = type(rep)(method=rep.method | {"evalHash": "0x01"}, utility=rep.utility, contributions=[], contributors=[])
    before = type(rep)(method=rep.method | {"evalHash": "0x02"}, utility=rep.utility, contributions=[], contributors=[])
    with pytest.raises(InputError, match="another evaluation set"):
        round_improvement(now, before, rate=E, cap=E)

"""The bond forfeiture rule (issue 23): each reason on constructed reports, and what it must keep."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _project import Project, addr

from openledger_chain.attribution import attribute
from openledger_chain.attribution.bonds import (
    FORFEIT_REASONS,
    MIN_COPY_ROWS,
    BondDecision,
    bond_summary,
    classify_exclusion,
    decide_bonds,
)
from openledger_chain.attribution.engine import AttributionReport, ContributionValue

A, B = addr(1), addr(2)


def contribution(cid: str, *, contributor: str = A, kind: str = "data", rows: int = 40, value: float = 0.05,
                 null_mean: float = 0.0, null_var: float = 1e-4, excluded: dict[str, int] | None = None,
                 derivative_of: str | None = None) -> ContributionValue:
    credited = rows - sum((excluded or {}).values())
    return ContributionValue(cid, contributor, kind, rows, credited, value, 0, excluded or {}, derivative_of, null_mean,
                             null_var)


def report(*contributions: ContributionValue, malformed: dict[str, str] | None = None,
           noise_margin: float = 3.0) -> AttributionReport:
    return AttributionReport(method={"name": "tknn_shapley", "noise_margin": noise_margin},
                             utility={"metric": "tknn_soft_accuracy", "all": 0.9, "none": 0.5},
                             contributions=list(contributions), contributors=[], malformed=malformed or {})


def test_honest_contribution_is_released() -> None:
    d = decide_bonds(report(contribution("c", value=0.05, null_var=1e-4)))
    assert d == {"c": BondDecision("c", "released", None, pytest.approx(5.0))}


def test_malformed_file_is_forfeited() -> None:
    d = decide_bonds(report(contribution("ok"), malformed={"bad": "malformed: row 5, column 'f3': not a number"}))
    assert d["bad"] == BondDecision("bad", "forfeited", "malformed")
    assert d["ok"].outcome == "released"


@pytest.mark.parametrize(("excluded", "outcome", "reason"), [
    ("malformed: row 2, column 'y': label not in classes", "forfeited", "malformed"),
    ("decrypts to other bytes than its registered content hash", "forfeited", "undecryptable"),
    ("does not decrypt with the committee keys held here (no identity matched)", "forfeited", "undecryptable"),
    ("file not found", "held", "file not found"),
    ("timed out after 30 s", "held", "timed out after 30 s"),
    ("HTTP 404 from https://example.org/c.csv", "held", "HTTP 404 from https://example.org/c.csv"),
    ("content hash mismatch", "held", "content hash mismatch"),
])
def test_inputs_left_out_before_valuation(excluded: str, outcome: str, reason: str) -> None:
    """The contributor's own broken file forfeits; a file the round could not get is held, undecided."""
    d = decide_bonds(report(), excluded_inputs={"x": excluded})
    assert d["x"] == BondDecision("x", outcome, reason)  # type: ignore[arg-type]


def test_a_file_no_key_opens_is_held_when_the_proposer_lacks_an_epoch_key() -> None:
    why = "does not decrypt with the committee keys held here (no identity matched)"
    assert decide_bonds(report(), excluded_inputs={"x": why}, keys_complete=False)["x"] == BondDecision("x", "held", why)
    other = "decrypts to other bytes than its registered content hash"
    assert decide_bonds(report(), excluded_inputs={"x": other}, keys_complete=False)["x"].reason == "undecryptable"


def test_classify_exclusion() -> None:
    assert classify_exclusion("malformed: row 1") == "malformed"
    assert classify_exclusion("larger than 268435456 bytes") == "unavailable"
    assert classify_exclusion("encrypted to the committee; only a committee member's key opens it") == "unavailable"


def test_mostly_outliers_forfeit_but_one_stray_row_does_not() -> None:
    d = decide_bonds(report(contribution("junk", rows=4, excluded={"outlier": 3}),
                            contribution("one", rows=1, excluded={"outlier": 1}),
                            contribution("stray", rows=40, excluded={"outlier": 1})))
    assert d["junk"].reason == d["one"].reason == "outlier"
    assert d["stray"].outcome == "released"


def test_derivative_forfeits_as_copy_but_a_tiny_one_does_not() -> None:
    d = decide_bonds(report(
        contribution("copy", rows=40, value=0.0, excluded={"derivative_contribution": 40}, derivative_of="alice-1"),
        contribution("leak", rows=MIN_COPY_ROWS, value=0.0, excluded={"derivative_contribution": MIN_COPY_ROWS},
                     derivative_of="evaluation"),
        # One or two honest rows within a spacing of an earlier row: no evidence, the bond is kept.
        contribution("tiny", rows=2, value=0.0, excluded={"derivative_contribution": 2}, derivative_of="alice-1"),
        # Rows excluded one by one (honest rows repeating coarse measurements) never forfeit.
        contribution("repeats", rows=10, value=0.01, excluded={"copy": 6, "copy_of_evaluation": 2}),
    ))
    assert (d["copy"].reason, d["leak"].reason) == ("copy", "copy")
    assert d["tiny"].outcome == d["repeats"].outcome == "released"


def test_harmful_beyond_the_noise_margin_forfeits() -> None:
    # Z = (-0.04 - 0) / 0.01 = -4 <= -3: worse than random labels beyond chance.
    d = decide_bonds(report(contribution("flip", value=-0.04, null_var=1e-4)))
    assert d["flip"] == BondDecision("flip", "forfeited", "harmful", pytest.approx(-4.0))


def test_negative_within_chance_is_kept() -> None:
    # Z = -2: unlucky or useless, not harmful beyond the margin.
    d = decide_bonds(report(contribution("meh", value=-0.02, null_var=1e-4)))
    assert d["meh"].outcome == "released" and d["meh"].z == pytest.approx(-2.0)


def test_identity_z_catches_a_harmful_file_split_within_one_identity() -> None:
    # Each file Z = -2.5; the identity's rows together Z = -5 / sqrt(2) = -3.54.
    parts = [contribution(f"p{i}", value=-0.025, null_var=1e-4) for i in range(2)]
    honest = contribution("h", contributor=B, value=0.05)
    d = decide_bonds(report(*parts, honest))
    assert [d[f"p{i}"].reason for i in range(2)] == ["harmful", "harmful"]
    assert d["h"].outcome == "released"


def test_harmless_zero_value_contribution_is_kept() -> None:
    """Rows far from every evaluation point (labels cannot matter) and unattested compute: worth 0, kept."""
    d = decide_bonds(report(contribution("far", value=0.0, null_var=0.0),
                            contribution("compute", kind="compute", rows=0, value=0.0, null_var=0.0)))
    assert d["far"] == BondDecision("far", "released", None, None)
    assert d["compute"].outcome == "released"


def test_tiny_honest_contribution_is_kept() -> None:
    """One row's Z is at most sqrt(classes - 1) in size: even a borderline honest row (its label
    disagrees with its neighbourhood, so its value is negative) cannot reach -3."""
    one_row = contribution("one", rows=1, value=-0.01, null_mean=0.0, null_var=1e-4)  # Z = -1, the two-class minimum
    d = decide_bonds(report(one_row))
    assert d["one"].outcome == "released" and d["one"].z == pytest.approx(-1.0)


def test_noise_margin_zero_turns_harmful_off() -> None:
    d = decide_bonds(report(contribution("flip", value=-0.04, null_var=1e-4), noise_margin=0.0))
    assert d["flip"].outcome == "released"


def test_summary_counts_reasons() -> None:
    d = decide_bonds(report(contribution("flip", value=-0.04), contribution("ok")), excluded_inputs={"gone": "file not found"})
    assert bond_summary(d) == {"released": 1, "forfeited": 1, "held": 1, "reasons": {"harmful": 1}}
    assert all(x.reason in FORFEIT_REASONS for x in d.values() if x.outcome == "forfeited")


def test_on_a_real_round_the_flipper_forfeits_and_honest_data_and_a_single_row_are_kept(project: Project) -> None:
    project.spec["method"] = {"name": "tknn_shapley"}
    for i in range(3):
        project.add(f"c{i}", addr(i + 1), *project.rows(40 * i, 40 * i + 40))
    x, y = project.rows(120, 160)
    project.add("flip", addr(9), x, 1 - y)
    project.add("one", addr(7), *project.rows(200, 201))
    spec, manifest, ev = project.write()
    rep = attribute(json.loads(spec.read_text()), json.loads(manifest.read_text()), ev, base_dir=project.root)
    d = decide_bonds(rep)
    assert d["flip"].outcome == "forfeited" and d["flip"].reason == "harmful"
    assert [d[f"c{i}"].outcome for i in range(3)] == ["released"] * 3
    assert d["one"].outcome == "released" and abs(d["one"].z or 0.0) <= 1.0 + 1e-9
    assert np.isfinite(d["c0"].z or 0.0)

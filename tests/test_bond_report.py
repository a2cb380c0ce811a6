"""A fast subset of the bond report: one split, no honest bond forfeited, the flipper and the late copier lose theirs.

The full measurement (3 data sets x 10 seeds, every attack) is ``python scripts/bond_report.py``; its
figures are in docs/attribution.md ("Bonds: the forfeiture rule and what it costs").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_bond_report_on_one_split(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bond_report.py"), "--datasets", "breast_cancer", "--seeds", "1",
         "--attack-seeds", "1", "--focus-seeds", "1", "--attacks", "label_flipper,late_copy_all_0.3x_spacing,sybil_split",
         "--skip-emission", "--json", str(tmp_path / "bonds.json")],
        capture_output=True, text=True, cwd=REPO,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads((tmp_path / "bonds.json").read_text())
    honest = [r for r in doc["false_forfeits"] if r["outcome"].startswith("forfeited")]
    assert not honest, honest
    assert sum(r["rows"] <= 2 for r in doc["false_forfeits"]) > 0  # the tiny round ran
    runs = {a["attack"]: a for a in doc["attacks"]}
    assert all(not a["honest_forfeited"] for a in doc["attacks"])
    assert runs["label_flipper"]["forfeited"] == 1 and runs["label_flipper"]["reasons"] == ["harmful"]
    assert runs["late_copy_all_0.3x_spacing"]["forfeited"] == runs["late_copy_all_0.3x_spacing"]["contributions"]
    assert runs["sybil_split"]["forfeited"] == 0

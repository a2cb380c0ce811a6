"""`openledger attribute` end to end, and every bad input -> exit 2 with file, row and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from _project import Project

from openledger_chain.cli import main


def invoke(spec: Path, manifest: Path, ev: Path, *extra: str):  # type: ignore[no-untyped-def]
    args = ["attribute", "--spec", str(spec), "--contributions", str(manifest), "--eval", str(ev), *extra]
    return CliRunner().invoke(main, args)


def test_writes_out_json_with_exact_emission(basic: Project, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = invoke(*basic.write(), "--emission", str(2**256 - 1), "--seed", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert set(doc) == {"method", "utility", "contributions", "contributors", "allocations"}
    assert sum(int(a["amount"]) for a in doc["allocations"]) == 2**256 - 1
    assert all(isinstance(a["amount"], str) for a in doc["allocations"])
    assert set(doc["contributions"][0]) == {"id", "contributor", "kind", "rows", "credited_rows", "value", "excluded", "derivative_of"}
    assert set(doc["utility"]) == {"metric", "all", "none"}


def test_prints_json_without_out(basic: Project) -> None:
    result = invoke(*basic.write())
    assert result.exit_code == 0
    assert json.loads(result.stdout)["allocations"] == []


def _corrupt_cell(p: Project, cid: str, line: int, col: int, value: str) -> None:
    path = p.root / f"{cid}.csv"
    lines = path.read_text().splitlines()
    cells = lines[line - 1].split(",")
    cells[col] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def _drop_column(p: Project, cid: str, col: int) -> None:
    path = p.root / f"{cid}.csv"
    rows = [line.split(",") for line in path.read_text().splitlines()]
    path.write_text("\n".join(",".join(r[:col] + r[col + 1 :]) for r in rows) + "\n")


CASES = {
    "missing column": (lambda p: _drop_column(p, "c1", 2), ["c1.csv", "row 1", "'f2'", "missing column"]),
    "non-numeric cell": (lambda p: _corrupt_cell(p, "c2", 5, 3, "abc"), ["c2.csv", "row 5", "'f3'", "not a number"]),
    "nan cell": (lambda p: _corrupt_cell(p, "c0", 3, 0, "nan"), ["c0.csv", "row 3", "'f0'"]),
    "label not in spec classes": (
        lambda p: (p.spec.update(classes=["0", "1"]), _corrupt_cell(p, "c0", 4, 5, "2")),
        ["c0.csv", "row 4", "'y'", "not in the spec"],
    ),
    "spec without label": (lambda p: p.spec.pop("label"), ["spec.json", "'label'"]),
    "label column absent": (lambda p: p.spec.update(label="target"), ["eval.csv", "row 1", "'target'"]),
    "empty file": (lambda p: (p.root / "c1.csv").write_text(""), ["c1.csv", "empty file"]),
    "header only": (lambda p: (p.root / "c1.csv").write_text("f0,f1,f2,f3,f4,y\n"), ["c1.csv", "no data rows"]),
    "unknown method": (lambda p: p.spec.update(method={"name": "magic"}), ["spec.json", "'method.name'", "magic"]),
    "unknown estimator": (
        lambda p: p.spec.update(estimator={"name": "os.system", "params": {}}), ["spec.json", "unknown estimator"]
    ),
    "missing file": (lambda p: (p.root / "c2.csv").unlink(), ["c2.csv", "file not found"]),
    "bad address": (
        lambda p: p.manifest[1].update(contributor="0x1234"), ["manifest.json", "row 2", "'contributor'", "bad address"]
    ),
    "bad checksum": (
        lambda p: p.manifest[0].update(contributor="0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        ["manifest.json", "row 1", "'contributor'"],
    ),
    "unknown kind": (lambda p: p.manifest[0].update(kind="weights"), ["manifest.json", "row 1", "'kind'"]),
    "path escapes": (lambda p: p.manifest[0].update(path="../x.csv"), ["manifest.json", "row 1", "'path'"]),
    "ragged row": (lambda p: _corrupt_cell(p, "c0", 2, 0, "1,2"), ["c0.csv", "row 2", "cells"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line_naming_the_place(basic: Project, case: str) -> None:
    mutate, expected = CASES[case]
    spec, manifest, ev = basic.write()  # write the files first, then break them
    mutate(basic)
    (basic.root / "spec.json").write_text(json.dumps(basic.spec))
    (basic.root / "manifest.json").write_text(json.dumps(basic.manifest))
    result = invoke(spec, manifest, ev)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    for fragment in expected:
        assert fragment in message, (fragment, message)
    assert "Traceback" not in result.output


def test_missing_spec_and_bad_json(basic: Project) -> None:
    spec, manifest, ev = basic.write()
    result = invoke(basic.root / "nope.json", manifest, ev)
    assert result.exit_code == 2 and "nope.json" in result.stderr
    spec.write_text("{\n  \"label\": \"y\",,\n}")
    result = invoke(spec, manifest, ev)
    assert result.exit_code == 2 and "row 2" in result.stderr and "column" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["--emission", "-1"], ["--emission", str(2**256)], ["--attestor", "0xnope"], ["--model", "-1"], ["--model", "x"]],
)
def test_bad_options_exit_2(basic: Project, args: list[str]) -> None:
    result = invoke(*basic.write(), *args)
    assert result.exit_code == 2


EXAMPLE_OWNER = "0xd31b822B233346334737c953FdE6f92d745c5B8D"  # examples/attribution/generate.py's demo key


def test_example_runs_as_documented() -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "attribution"
    result = invoke(root / "spec.json", root / "manifest.json", root / "eval.csv", "--emission", "1000")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert sum(int(a["amount"]) for a in doc["allocations"]) == 1000
    copier = next(c for c in doc["contributions"] if c["id"] == "copycat-1")
    assert copier["credited_rows"] == 0
    assert doc["method"]["name"] == "tknn_shapley"


@pytest.mark.parametrize("model, units", [(None, 120.0), ("0", 120.0), ("1", 0.0)])
def test_example_compute_claim_counts_for_its_model_only(model: str | None, units: float) -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "attribution"
    extra = ["--attestor", EXAMPLE_OWNER] + (["--model", model] if model is not None else [])
    result = invoke(root / "spec.json", root / "manifest.json", root / "eval.csv", *extra)
    assert result.exit_code == 0, result.output
    gpu = next(c for c in json.loads(result.stdout)["contributions"] if c["id"] == "gpu-1")
    assert gpu["value"] == units


def test_example_names_the_rows_it_left_out_and_why(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "attribution"
    result = invoke(root / "spec.json", root / "manifest.json", root / "eval.csv", "--out", str(tmp_path / "out.json"))
    assert result.exit_code == 0, result.output
    assert "rows left out of copycat-1: 40 copy (derives from alice-1)" in result.stderr
    assert "rows left out of mallory-1: 50 earns nothing" in result.stderr


def test_revealed_evaluation_sets_are_checked_and_used(basic: Project, tmp_path: Path) -> None:
    from _project import write_csv

    result = invoke(*basic.write(), "--revealed", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2 and "missing.csv' does not exist" in result.stderr  # refused while parsing
    result = invoke(*basic.write(), "--revealed", str(basic.root / "eval.csv"))  # the current set, revealed
    assert result.exit_code == 2 and "rows also in the revealed evaluation set" in result.stderr
    # More revealed rows than contributed ones, none of them in the current set.
    write_csv(tmp_path / "old.csv", basic.x[300:], basic.y[300:])
    result = invoke(*basic.write(), "--revealed", str(tmp_path / "old.csv"))
    assert result.exit_code == 0, result.output



def test_claims_without_an_attestor_are_counted_zero_with_a_warning() -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "attribution"
    result = invoke(root / "spec.json", root / "manifest.json", root / "eval.csv")
    assert result.exit_code == 0, result.output
    assert "1 compute/evaluation claim(s) count 0 units: no --attestor given" in result.stderr
    with_attestor = invoke(root / "spec.json", root / "manifest.json", root / "eval.csv", "--attestor", EXAMPLE_OWNER)
    assert "--attestor" not in with_attestor.stderr

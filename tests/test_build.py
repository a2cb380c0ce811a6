"""The committed artifacts are the real compiler output for the current sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from openledger_chain.build.artifacts import ARTIFACTS_DIR
from openledger_chain.build.compiler import compile_contracts, stale_artifacts
from openledger_chain.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_compile_check_passes_on_committed_artifacts() -> None:
    result = CliRunner().invoke(main, ["compile", "--check", "--project-root", str(PROJECT_ROOT)])
    assert result.exit_code == 0, result.output
    assert "artifacts match" in result.output


def test_recompiling_reproduces_every_committed_artifact_byte_for_byte() -> None:
    artifacts = compile_contracts(PROJECT_ROOT)
    committed = {p.stem for p in ARTIFACTS_DIR.glob("*.json")}
    assert set(artifacts) == committed
    for name, artifact in artifacts.items():
        stored = json.loads((ARTIFACTS_DIR / f"{name}.json").read_text())
        assert stored["bytecode"] == artifact.bytecode, name
        assert stored["deployedBytecode"] == artifact.deployed_bytecode, name
        assert stored["abi"] == artifact.abi, name


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "contracts", tmp_path / "contracts")
    (tmp_path / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
    return tmp_path


def test_check_names_the_contract_whose_source_changed(project_copy: Path) -> None:
    source = project_copy / "contracts" / "ModelStakeToken.sol"
    source.write_text(source.read_text().replace("FEE_PRECISION = 1e36", "FEE_PRECISION = 1e30"))
    problems = stale_artifacts(project_copy)
    names = {p.split(":")[0] for p in problems}
    # The token changed, and so did everything that embeds or imports it.
    assert "ModelStakeToken" in names and "ContributionRegistry" in names
    assert "DevPaymentToken" not in names
    result = CliRunner().invoke(main, ["compile", "--check", "--project-root", str(project_copy)])
    assert result.exit_code == 1
    assert "ModelStakeToken: source changed" in result.output


def test_check_names_a_contract_without_artifact(project_copy: Path) -> None:
    (project_copy / "contracts" / "Extra.sol").write_text("// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\ncontract Extra {}\n")
    assert "Extra: no committed artifact" in stale_artifacts(project_copy)

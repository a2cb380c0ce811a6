"""scripts/solc-js, the `solc` that `make slither` hands to slither: it answers like solc, and compiles
what it is asked for with the project's compiler settings and import resolution."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from openledger_chain.build.compiler import compiler_settings

REPO = Path(__file__).resolve().parents[1]
SHIM = REPO / "scripts" / "solc-js"


def _run_shim(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENLEDGER_PYTHON": sys.executable}
    return subprocess.run([str(SHIM), *args], capture_output=True, text=True, env=env, check=False)


@pytest.fixture
def shim_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("solc_js", REPO / "scripts" / "solc_js.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_version_answers_like_solc() -> None:
    result = _run_shim("--version")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^Version: 0\.8\.28\+commit\.[0-9a-f]+", result.stdout, re.MULTILINE), result.stdout


def test_other_arguments_are_a_usage_error() -> None:
    result = _run_shim("--combined-json", "abi,ast")
    assert result.returncode == 2
    assert "usage" in result.stderr


def test_standard_json_compiles_with_the_project_settings(shim_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run_compiler(compiler_input: dict[str, Any], project_root: Path) -> tuple[dict[str, Any], str]:
        seen["input"] = compiler_input
        return {"sources": {}}, "0.8.28"

    monkeypatch.setattr(shim_module, "run_compiler", fake_run_compiler)
    selection = {"*": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode"], "": ["ast"]}}
    request = {  # what crytic-compile sends for `slither contracts --solc-standard-json`
        "language": "Solidity",
        "sources": {"contracts/RewardDistributor.sol": {"urls": ["contracts/RewardDistributor.sol"]}},
        "settings": {"remappings": [], "optimizer": {"enabled": False}, "outputSelection": selection},
    }
    assert shim_module.standard_json(request) == {"sources": {}}
    settings = seen["input"]["settings"]
    assert settings == {**compiler_settings(), "outputSelection": selection}
    assert settings["evmVersion"] == "cancun"
    assert settings["optimizer"] == {"enabled": True, "runs": 200}
    sources = seen["input"]["sources"]
    assert "contracts/interfaces/IRewardDistributor.sol" in sources  # relative import
    assert "@openzeppelin/contracts/access/AccessControl.sol" in sources  # from node_modules
    assert not any(unit.startswith("contracts/test/") for unit in sources)
    assert all(source["content"] for source in sources.values())

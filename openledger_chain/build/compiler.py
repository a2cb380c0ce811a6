"""Compile every contract under `contracts/` from one standard-JSON input.

The input embeds the content of every source, including the OpenZeppelin files it imports (read
from `node_modules/`), so a native solc (through py-solc-x) and solc-js (through a small node
bridge) compile exactly the same thing. The metadata hash is left out of the bytecode so that both
produce byte-identical artifacts.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

from eth_utils import keccak

from openledger_chain.build.artifacts import ARTIFACTS_DIR, Artifact
from openledger_chain.errors import CompileError

SOLC_VERSION = "0.8.28"
EVM_VERSION = "cancun"  # OpenZeppelin 5.7 needs mcopy; py-evm (Prague) and anvil run cancun code.
OPTIMIZER_RUNS = 200
CONTRACTS_DIR = "contracts"

_IMPORT_RE = re.compile(r'^\s*import\s+(?:[^"\';]*?\s+from\s+)?["\']([^"\']+)["\']', re.MULTILINE)
_BRIDGE = Path(__file__).parent / "solc_bridge.js"


def compiler_settings() -> dict[str, Any]:
    return {
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "evmVersion": EVM_VERSION,
        "metadata": {"bytecodeHash": "none"},
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}},
    }


def collect_sources(project_root: Path, units: list[str] | None = None) -> dict[str, str]:
    """Return every source unit the contracts need, keyed by unit name, following imports.

    `units` (default: every .sol file under `contracts/`) are the units to start from, named
    relative to `project_root`; each unit is read from `project_root`, else from `node_modules/`.
    """
    if units is None:
        pending = sorted(
            p.relative_to(project_root).as_posix() for p in (project_root / CONTRACTS_DIR).rglob("*.sol")
        )
    else:
        pending = sorted(units)
    if not pending:
        raise CompileError(f"no .sol files under {project_root / CONTRACTS_DIR}")
    sources: dict[str, str] = {}
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        content = _read_unit(project_root, unit)
        sources[unit] = content
        for imported in _IMPORT_RE.findall(content):
            pending.append(_resolve_import(unit, imported))
    return dict(sorted(sources.items()))


def standard_json_input(project_root: Path) -> dict[str, Any]:
    sources = collect_sources(project_root)
    return {
        "language": "Solidity",
        "sources": {unit: {"content": content} for unit, content in sources.items()},
        "settings": compiler_settings(),
    }


def compile_contracts(project_root: Path) -> dict[str, Artifact]:
    """Compile `contracts/` and return an artifact for each deployable contract in it.

    Raises:
        CompileError: no compiler is available, or solc reported errors.
    """
    compiler_input = standard_json_input(project_root)
    output, version = run_compiler(compiler_input, project_root)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        first = errors[0].get("formattedMessage", errors[0].get("message", "")).strip().splitlines()[0]
        raise CompileError(f"solc reported {len(errors)} error(s); first: {first}")
    artifacts: dict[str, Artifact] = {}
    for unit, contracts in output["contracts"].items():
        if not unit.startswith(f"{CONTRACTS_DIR}/"):
            continue
        for name, compiled in contracts.items():
            bytecode = compiled["evm"]["bytecode"]["object"]
            if not bytecode:  # interfaces and abstract contracts
                continue
            metadata = json.loads(compiled["metadata"])
            artifacts[name] = Artifact(
                contract_name=name,
                source_name=unit,
                abi=compiled["abi"],
                bytecode="0x" + bytecode,
                deployed_bytecode="0x" + compiled["evm"]["deployedBytecode"]["object"],
                compiler_version=version,
                sources={u: s["keccak256"] for u, s in sorted(metadata["sources"].items())},
            )
    return dict(sorted(artifacts.items()))


def write_artifacts(artifacts: dict[str, Artifact], directory: Path = ARTIFACTS_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.json"):
        if stale.stem not in artifacts:
            stale.unlink()
    for name, artifact in artifacts.items():
        (directory / f"{name}.json").write_text(json.dumps(artifact_json(artifact), indent=2) + "\n")


def artifact_json(artifact: Artifact) -> dict[str, Any]:
    return {
        "contractName": artifact.contract_name,
        "sourceName": artifact.source_name,
        "abi": artifact.abi,
        "bytecode": artifact.bytecode,
        "deployedBytecode": artifact.deployed_bytecode,
        "compiler": {"version": artifact.compiler_version, "settings": compiler_settings()},
        "sources": artifact.sources,
    }


def stale_artifacts(project_root: Path, directory: Path = ARTIFACTS_DIR) -> list[str]:
    """Name every problem that makes the committed artifacts differ from the sources, without compiling.

    Compares the keccak256 of each source an artifact was built from (taken from solc's metadata)
    with the file on disk, the compiler settings, and the set of contracts.
    """
    sources = collect_sources(project_root)
    hashes = {unit: "0x" + keccak(text=content).hex() for unit, content in sources.items()}
    problems: list[str] = []
    committed = {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}
    for name, data in committed.items():
        if data["compiler"]["settings"] != compiler_settings():
            problems.append(f"{name}: compiler settings changed")
            continue
        changed = [u for u, h in data["sources"].items() if hashes.get(u) != h]
        if changed:
            problems.append(f"{name}: source changed or missing: {', '.join(changed)}")
    defined = _deployable_contract_names(sources)
    for name in sorted(defined - committed.keys()):
        problems.append(f"{name}: no committed artifact")
    return problems


def _deployable_contract_names(sources: dict[str, str]) -> set[str]:
    pattern = re.compile(r"^\s*contract\s+(\w+)", re.MULTILINE)
    names: set[str] = set()
    for unit, content in sources.items():
        if unit.startswith(f"{CONTRACTS_DIR}/"):
            names.update(pattern.findall(content))
    return names


def _read_unit(project_root: Path, unit: str) -> str:
    for base in (project_root, project_root / "node_modules"):
        path = base / unit
        if path.is_file():
            return path.read_text()
    raise CompileError(f"cannot find Solidity source {unit!r}; run `npm ci` in {project_root}")


def _resolve_import(importer: str, imported: str) -> str:
    if not imported.startswith("."):
        return imported
    parts: list[str] = []
    for part in (PurePosixPath(importer).parent / imported).parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def run_compiler(compiler_input: dict[str, Any], project_root: Path) -> tuple[dict[str, Any], str]:
    """Compile a standard-JSON input with the project's compiler; return solc's output and version.

    A native solc of exactly SOLC_VERSION when one is installed, else solc-js (`node_modules/solc`)
    through solc_bridge.js. solc-js reports compile errors in the output's `errors`; a native solc
    raises them (py-solc-x).
    """
    native = _native_solc()
    if native is not None:
        import solcx

        output = solcx.compile_standard(compiler_input, solc_binary=native, allow_empty=True)
        return output, compiler_version(project_root)
    node = _node(project_root)
    result = subprocess.run(
        [node, str(_BRIDGE), str(project_root)],
        input=json.dumps(compiler_input),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise CompileError(f"solc-js failed: {result.stderr.strip().splitlines()[-1] if result.stderr else 'no output'}")
    return json.loads(result.stdout), compiler_version(project_root)


def compiler_version(project_root: Path) -> str:
    """The full version (with commit) of the compiler `run_compiler` uses, without compiling."""
    if _native_solc() is not None:
        import solcx

        return str(solcx.get_solc_version(with_commit_hash=True))
    return subprocess.run(
        [_node(project_root), "-e",
         "process.stdout.write(require(require.resolve('solc',{paths:[process.argv[1]]})).version())",
         str(project_root)],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


def _node(project_root: Path) -> str:
    node = shutil.which("node")
    if node is None or not (project_root / "node_modules" / "solc").is_dir():
        raise CompileError("no Solidity compiler: install solc 0.8.28, or node with `npm ci` for solc-js")
    return node


def _native_solc() -> str | None:
    """A native solc of exactly SOLC_VERSION, if one is installed (never downloads)."""
    try:
        import solcx

        for version in solcx.get_installed_solc_versions():
            if str(version) == SOLC_VERSION:
                return str(solcx.get_executable(version))
    except Exception:  # noqa: BLE001 - py-solc-x missing or its install folder unreadable: use solc-js
        return None
    path = shutil.which("solc")
    if path:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
        if f"Version: {SOLC_VERSION}+" in result.stdout:
            return path
    return None

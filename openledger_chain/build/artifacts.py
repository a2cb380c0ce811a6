"""Committed contract artifacts: read them without a compiler, node or network."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from openledger_chain.errors import CompileError

ARTIFACTS_DIR = Path(__file__).parent / "artifacts"


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: what deploying and calling it needs, and what it was built from."""

    contract_name: str
    source_name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    sources: dict[str, str]  # source unit -> keccak256 of its content, from the solc metadata

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            contract_name=data["contractName"],
            source_name=data["sourceName"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            compiler_version=data["compiler"]["version"],
            sources=data["sources"],
        )


@cache
def load_artifact(contract_name: str) -> Artifact:
    """Load the committed artifact of `contract_name`.

    Raises:
        CompileError: no artifact of that name is committed.
    """
    path = ARTIFACTS_DIR / f"{contract_name}.json"
    if not path.is_file():
        raise CompileError(f"no artifact for contract {contract_name!r} in {ARTIFACTS_DIR}; run `openledger compile`")
    return Artifact.from_json(json.loads(path.read_text()))

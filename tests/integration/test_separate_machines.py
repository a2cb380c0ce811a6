"""README "Oracles on separate machines", run literally: every party in a folder of its own (its own deployment
file and its own cache of decrypted contributions), files moving between folders only where a line copies
them, contributions and proposals fetched from a real local web server, three oracles signing on their own
machines and one merging their signature files, and a guardian that verifies from the chain and the round
file alone. Every output line the README shows outside a table must appear in the real output."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest
from _anvil import PROJECT_ROOT, running_anvil
from _readme import TABLE, record_or_match, serving, without_comment
from click.testing import CliRunner
from eth_utils import keccak

from openledger_chain.cli import main

README = PROJECT_ROOT / "README.md"
PROMPT = re.compile(r"^(?:([a-z0-9-]+))?\$ (.*)$")


def _block() -> list[tuple[str | None, str, list[str]]]:
    """(party or None for the base folder, command line, the output lines the README shows for it), in order."""
    text = README.read_text()
    section = text[text.index("### Oracles on separate machines"):]
    block = section[section.index("```\n") + 4:]
    block = block[:block.index("```")]
    steps: list[tuple[str | None, str, list[str]]] = []
    for line in block.splitlines():
        prompt = PROMPT.match(line)
        if prompt:
            steps.append((prompt.group(1), without_comment(prompt.group(2)), []))
        elif steps and line.strip() and not line.lstrip().startswith(TABLE):
            steps[-1][2].append(without_comment(line))
    return steps


def test_oracles_on_separate_machines_run_literally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = _block()
    base_line = steps[0][1]
    base = Path(re.search(r"mkdir -p (\S+)", base_line).group(1))
    scratch = tmp_path / "machines"
    scratch.mkdir()
    with running_anvil() as url, ExitStack() as servers:
        for party, command, expected in steps:
            command = command.replace(str(base), str(scratch))
            folder = scratch / party if party else scratch  # the first line makes it and cds into it
            output = ""
            if command.startswith("python3 -m http.server"):
                servers.enter_context(serving(shlex.split(command), folder))
                continue
            for part in command.split(" && ") if "openledger " in command else [command]:
                if part.startswith("openledger "):
                    monkeypatch.chdir(folder)
                    result = CliRunner().invoke(main, shlex.split(part)[1:], env={
                        "OPENLEDGER_RPC_URL": url, "COLUMNS": "200", "OPENLEDGER_CACHE_DIR": str(folder / ".cache")})
                    output += result.output
                    assert result.exit_code == 0, f"{party}$ {part}\n{result.output}"
                else:
                    shell = subprocess.run(["bash", "-c", part], cwd=folder, capture_output=True, text=True,
                                           env=os.environ | {"REPO": str(PROJECT_ROOT)})  # the README's "$REPO"
                    assert shell.returncode == 0, f"{party}$ {part}\n{shell.stdout}{shell.stderr}"
            if os.environ.get("README_RECORD"):
                print(f"{party}$ {command}\n{output}")
            for line in expected:
                assert record_or_match(line.strip(), output), f"{party}$ {command}: expected {line!r} in\n{output}"
    monkeypatch.chdir(tmp_path)
    # The guardian held nothing but its deployment file and the round files: it verified from the chain alone.
    guardian = {str(p.relative_to(scratch / "guardian")) for p in (scratch / "guardian").rglob("*") if p.is_file()}
    assert guardian == {"deployments/localhost.json", "round-1.json", "round-2.json"}
    # Each oracle opened the contributions in a cache of its own, fetched over HTTP.
    alice = (scratch / "alice" / "alice.csv").read_bytes()
    for oracle in ("oracle-1", "oracle-2", "oracle-3"):
        cached = [p.read_bytes() for p in (scratch / oracle / ".cache").rglob("*") if p.is_file()]
        assert alice in cached, oracle
    # Round 2 counts round 1's evaluation set, which its proposer found on the chain, not on its disk.
    import json

    body = json.loads((scratch / "www" / "round-2.json").read_text())["body"]
    assert body["method"]["revealedEvalHashes"] == ["0x" + keccak((scratch / "owner" / "eval.csv").read_bytes()).hex()]

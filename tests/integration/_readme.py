"""Reading and checking the README's runnable command blocks: the `$ ` lines of a section's first block and the
output lines shown under each, what those lines must match, the web server a `python3 -m http.server` line
starts, and running a block's `openledger` lines against a node."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _anvil import running_anvil
from click.testing import CliRunner

from openledger_chain.cli import main
from openledger_chain.demo import serve_folder

TABLE = tuple("│┃┏┗┡└┌├━─")
# Registrations commit with a random salt: each zero byte in it costs 12 gas less calldata.
GAS_SLACK = 32 * 12


def command_block(readme: str, heading: str) -> list[tuple[str, list[str]]]:
    """(command line, the output lines the README shows for it), in order, of the first code block after
    `heading` (table rows are left out: their widths follow the terminal)."""
    section = readme[readme.index(heading):]
    block = section[section.index("```\n") + 4:]
    block = block[:block.index("```")]
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((without_comment(line[2:]), []))
        elif steps and line.strip() and not line.lstrip().startswith(TABLE):
            steps[-1][1].append(without_comment(line))
    return steps


def folder_like(folder: Path, fallback: Path) -> Path:
    """A new empty folder beside `folder` with a name of the same length (file URIs are registered on-chain, and
    gas depends on their length; the README's own folder is never touched, someone may be using it)."""
    for attempt in range(1000):
        suffix = f"{attempt:x}"
        name = folder.name[: len(folder.name) - len(suffix)] + suffix
        candidate = folder.with_name(name)
        if len(name) == len(folder.name) and candidate != folder:
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return candidate
    return fallback


def run_steps(steps: list[tuple[str, list[str]]], url: str) -> str:
    """Run the steps in the current folder against the node at `url`: each `openledger` command (several joined
    by `&&` or `;`) in this process, each `python3 -m http.server` as a real server for the rest of the block.
    A command must fail exactly where the README shows `error:` first, and every line the README shows must
    be in its output. Returns every command's output (stdout and stderr), concatenated."""
    everything = ""
    with ExitStack() as servers:
        for command, expected in steps:
            output, failed = "", False
            if command.startswith("python3 -m http.server"):
                servers.enter_context(serving(shlex.split(command), Path.cwd()))
                continue
            for part in re.split(r"\s*(?:&&|;)\s*", command):
                argv = shlex.split(part)
                assert argv[0] == "openledger", part
                result = CliRunner().invoke(main, argv[1:], env={"OPENLEDGER_RPC_URL": url, "COLUMNS": "200"})
                output += result.output
                failed = failed or result.exit_code != 0
            shows_error = bool(expected) and expected[0].startswith("error:")
            assert failed == shows_error, f"{command}\n{output}"
            for line in expected:
                assert record_or_match(line.strip(), output), f"{command}: expected {line!r} in\n{output}"
            everything += output
    return everything


@dataclass(frozen=True)
class LiteralRun:
    """A README block run by :func:`run_literally`: its scratch folder, the files its `cp` line copied there, the
    committee cache, the node's URL and every command's output."""

    scratch: Path
    files: list[str]
    cache: Path
    url: str
    outputs: str


@contextmanager
def run_literally(steps: list[tuple[str, list[str]]], examples: Path, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[LiteralRun]:
    """Run a block that starts as the README's walkthroughs do (`openledger node`, `export PATH`, then a
    `mkdir -p FOLDER && cp .../{a,b,...} FOLDER` line) the way a reader would: in a scratch folder whose path has
    FOLDER's length (file URIs are registered on-chain, and gas depends on their length; the README's own folder
    is never touched, someone may be using it) holding those files from `examples`, against a fresh anvil, with
    a committee cache under `tmp_path`. Yields once every step ran, the node still up; cleans up after."""
    commands = [c for c, _ in steps]
    assert commands[0].startswith(".venv/bin/openledger node") and commands[1].startswith("export PATH")
    folder = Path(re.search(r"mkdir -p (\S+)", commands[2]).group(1))
    files = re.search(r"\{([^}]*)\}", commands[2]).group(1).split(",")
    scratch = folder_like(folder, tmp_path)
    monkeypatch.chdir(scratch)
    cache = tmp_path / "committee-cache"
    monkeypatch.setenv("OPENLEDGER_CACHE_DIR", str(cache))
    for name in files:
        shutil.copyfile(examples / name, scratch / name)
    try:
        with running_anvil() as url:
            yield LiteralRun(scratch, files, cache, url, run_steps(steps[3:], url))
    finally:
        monkeypatch.chdir(tmp_path)
        if scratch != tmp_path:
            shutil.rmtree(scratch, ignore_errors=True)


def without_comment(line: str) -> str:
    return re.split(r"\s{2,}#\s", line, maxsplit=1)[0].rstrip()


def pattern_of(expected: str) -> tuple[str, list[int]]:
    """The regular expression an expected line stands for (gas figures captured), and the gas figures it states."""
    parts = [re.escape(part) for part in re.split(r"(?<=gas )\d+", expected)]
    pattern = r"(\d+)".join(parts)
    pattern = r"\s+".join("[0-9a-zA-Z]*".join(pattern.split("…")).split(r"\ "))
    return pattern, [int(g) for g in re.findall(r"(?<=gas )(\d+)", expected)]


def record_or_match(expected: str, output: str) -> bool:
    """`matches`; with README_UPDATE=FILE set, a line that does not match but whose output line differs only in its
    numbers is appended to FILE as a JSON pair (README line, output line) for scripts/update_readme_outputs.py, and
    counts as matched so the run goes on."""
    if matches(expected, output):
        return True
    target = os.environ.get("README_UPDATE")
    if not target:
        return False
    raw = re.split(r"(?<![0-9A-Za-z…])\d+(?![0-9A-Za-z…])", expected)  # numbers, not digits of a hash
    loose = r"(\d+)".join(re.escape(part) for part in raw)
    loose = r"\s+".join("[0-9a-zA-Z]*".join(loose.split("…")).split(r"\ "))
    found = list(re.finditer(loose, output))
    if len(found) != 1:
        return False
    numbers = found[0].groups()
    updated = raw[0] + "".join(number + part for number, part in zip(numbers, raw[1:], strict=True))
    with open(target, "a") as out:
        out.write(json.dumps([expected, updated]) + "\n")
    return True


def matches(expected: str, output: str) -> bool:
    """`expected` (with `…` standing for hex or bech32 digits, any run of spaces for any whitespace) is a line
    of `output`, gas figures within GAS_SLACK."""
    pattern, wanted = pattern_of(expected)
    for match in re.finditer(pattern, output):
        if all(abs(int(got) - want) <= GAS_SLACK for got, want in zip(match.groups(), wanted, strict=True)):
            return True
    return False


@contextmanager
def serving(argv: list[str], folder: Path) -> Iterator[Any]:
    """`python3 -m http.server PORT --bind HOST [--directory DIR]`, run in `folder`: a real server for the block.

    The port is the README's own (its URIs are registered on-chain), so README tests that run at once on several
    pytest-xdist workers take turns on it: an exclusive lock on a file named after the port, held while serving."""
    port, host = int(argv[3]), argv[argv.index("--bind") + 1]
    served = folder / argv[argv.index("--directory") + 1] if "--directory" in argv else folder
    with open(Path(tempfile.gettempdir()) / f"openledger-readme-port-{port}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with serve_folder(served.resolve(), host, port) as server:
            yield server

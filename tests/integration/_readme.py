"""Reading and checking the README's runnable command blocks: what a block's output lines must match, and the
web server its `python3 -m http.server` lines start."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from openledger_chain.demo import serve_folder

TABLE = tuple("│┃┏┗┡└┌├━─")
# Registrations commit with a random salt: each zero byte in it costs 12 gas less calldata.
GAS_SLACK = 32 * 12


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


def serving(argv: list[str], folder: Path) -> Any:
    """`python3 -m http.server PORT --bind HOST [--directory DIR]`, run in `folder`: a real server for the block."""
    port, host = int(argv[3]), argv[argv.index("--bind") + 1]
    served = folder / argv[argv.index("--directory") + 1] if "--directory" in argv else folder
    return serve_folder(served.resolve(), host, port)

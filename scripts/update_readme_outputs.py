"""Refresh the numbers in README output lines after a change that moves them (gas, blocks, amounts).

Run the README's literal tests with README_UPDATE set; each output line that differs from the README only in its
numbers is recorded as (README line, line with the numbers the run printed), and the run goes on:

    README_UPDATE=/tmp/readme-pairs.jsonl .venv/bin/python -m pytest tests/integration/test_readme_walkthrough.py \\
        tests/integration/test_separate_machines.py
    .venv/bin/python scripts/update_readme_outputs.py /tmp/readme-pairs.jsonl

then read the diff: a figure that moved is a change to explain, not only to copy. Lines that differ in more than
numbers still fail the tests and are fixed by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def main() -> None:
    text = README.read_text()
    pairs = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()]
    changed = 0
    for old, new in dict(pairs).items():
        if old != new and old in text:
            text = text.replace(old, new)
            changed += 1
    README.write_text(text)
    print(f"{changed} README lines updated from {len(pairs)} recorded")


if __name__ == "__main__":
    main()

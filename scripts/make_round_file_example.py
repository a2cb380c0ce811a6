"""Regenerate docs/examples/round-file.json, the worked example of docs/round-file.md.

Runs the demo (embedded chain, deterministic keys and addresses) in a scratch folder, copies its round
file, and prints the values docs/round-file.md quotes. Run it after a change to the round file format,
then update the document with what it prints; tests/test_round_file_format.py checks both agree.

    .venv/bin/python scripts/make_round_file_example.py
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from openledger_chain.demo import run_demo
from openledger_chain.oracle import read_round_file
from openledger_chain.rounds import round_digest

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "round-file.json"


def main() -> None:
    # A fixed folder: the contributions' file URIs are in the round file, so the example is reproducible.
    scratch = Path(tempfile.gettempdir()) / "openledger-round-example"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        run_demo(scratch, lambda title, rows: None)
        shutil.copyfile(next((scratch / "rounds").rglob("round-1.json")), EXAMPLE)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    round_file = read_round_file(EXAMPLE)
    body = round_file.body
    digest = round_digest(int(body["chainId"]), body["distributor"], round_file.round)
    print(json.dumps({
        "roundFileHash": "0x" + round_file.round_file_hash.hex(),
        "methodHash": body["methodHash"],
        "scoresHash": body["scoresHash"],
        "merkleRoot": body["merkleRoot"],
        "digest": "0x" + digest.hex(),
    }, indent=2))


if __name__ == "__main__":
    main()

"""Start-up time of the `openledger` command against a bare `python -c "import click"`.

Usage:  python scripts/bench_startup.py [--runs 10]

Every command pays the start-up of the interpreter and of what the CLI imports before it parses
its arguments; `--help` and commands that need no chain or attribution should not pay for
scikit-learn, scipy or web3 (they are imported inside the commands that use them). Prints the
median wall time of each invocation over the runs and its ratio to the bare baseline.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

OPENLEDGER = str(Path(sys.executable).with_name("openledger"))
CASES = {
    'python -c "import click"': [sys.executable, "-c", "import click"],
    "openledger --help": [OPENLEDGER, "--help"],
    "openledger attribute --help": [OPENLEDGER, "attribute", "--help"],
    "openledger round propose --help": [OPENLEDGER, "round", "propose", "--help"],
    "openledger deploy --help": [OPENLEDGER, "deploy", "--help"],
}


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    args = p.parse_args()
    results = {name: median_seconds(cmd, args.runs) for name, cmd in CASES.items()}
    baseline = results['python -c "import click"']
    print("| invocation | median (s) | ratio to import click |")
    print("|---|---:|---:|")
    for name, seconds in results.items():
        print(f"| `{name}` | {seconds:.3f} | {seconds / baseline:.1f}x |")


if __name__ == "__main__":
    main()

"""Start-up time of the `openledger` command against a bare `python -c "import click"`, and how fast its
argument and file errors arrive.

Usage:  python scripts/bench_startup.py [--runs 10] [--only help|errors]

Every command pays the start-up of the interpreter and of what the CLI imports before it parses
its arguments; `--help` and commands that need no chain or attribution should not pay for
scikit-learn, scipy or web3 (they are imported inside the commands that use them).

The error cases give each command that takes a file one missing file (or one bad argument), in a scratch
folder beside a fresh anvil with a deployment and a model: a command that connected to the node or loaded
the attribution engine before looking at its arguments would pay for it here, as a user does. Each must
exit non-zero. Prints the median wall time of each invocation over the runs, its ratio to the bare
baseline, and for the error cases the error line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPENLEDGER = str(Path(sys.executable).with_name("openledger"))
HELP_CASES = {
    'python -c "import click"': [sys.executable, "-c", "import click"],
    "openledger --help": [OPENLEDGER, "--help"],
    "openledger attribute --help": [OPENLEDGER, "attribute", "--help"],
    "openledger round propose --help": [OPENLEDGER, "round", "propose", "--help"],
    "openledger deploy --help": [OPENLEDGER, "deploy", "--help"],
}
RECOMPUTE = ["--spec", "spec.json", "--eval", "eval.csv"]
#: What the scratch folder holds: the example's files, and round.json (any file).
SCRATCH_FILES = ("spec.json", "eval.csv", "alice.csv", "manifest.json", "round.json")
# One mistake each; every other file named exists in the scratch folder (tests/test_cli_inputs.py runs these
# too, checking that none loads scikit-learn or web3).
ERROR_CASES = [
    ["round", "sign", "nothere.json", *RECOMPUTE],
    ["round", "sign", "round.json"],
    ["round", "sign", "round.json", "--spec", "nothere.json", "--eval", "eval.csv"],
    ["round", "sign", "round.json", *RECOMPUTE, "--revealed", "nothere.csv"],
    ["round", "propose", "--model", "1", "--spec", "nothere.json", "--eval", "eval.csv"],
    ["round", "propose", "--model", "1", *RECOMPUTE, "--emission", "abc"],
    ["round", "submit", "nothere.json"],
    ["round", "submit", "round.json", "nothere.sig"],
    ["round", "collect", "round.json", "nothere.sig"],
    ["round", "commit-eval", "--model", "1", "--round", "1", "nothere.csv"],
    ["round", "reveal-eval", "--model", "1", "--round", "1", "--file", "nothere.csv", "https://example.org/e.age"],
    ["claim", "nothere.json"],
    ["claim"],
    ["verify", "nothere.json"],
    ["verify", "round.json", "--spec", "spec.json"],
    ["verify", "round.json", "--spec", "spec.json", "--eval", "nothere.csv"],
    ["contribute", "--model", "1", "nothere.csv"],
    ["contribute", "--model", "1", "--spec", "nothere.json", "alice.csv"],
    ["contribute", "--model", "1", "--keystore", "nothere.json", "alice.csv"],
    ["contribute", "--model", "1", "--key-env", "OPENLEDGER_BENCH_UNSET", "alice.csv"],
    ["keys", "decrypt", "nothere.age", "--out", "plain.csv"],
    ["attribute", "--spec", "nothere.json", "--contributions", "manifest.json", "--eval", "eval.csv"],
    ["attribute", "--spec", "spec.json", "--contributions", "manifest.json", "--eval", "eval.csv", "--seed", "-1"],
    ["model", "register", "--spec", "nothere.json"],
    ["model", "register", "--spec", "spec.json", "--emission-per-round", "abc"],
    ["status", "--round-file", "nothere.json"],
    ["usage", "pay", "--model", "1", "abc"],
    ["faucet", "abc"],
]


def median_seconds(cmd: list[str], runs: int, *, cwd: Path | None = None, env: dict[str, str] | None = None,
                   fails: bool = False) -> tuple[float, str]:
    """The median wall time of `cmd` over `runs`, and its error line (the first line of stderr naming one)."""
    times, error = [], ""
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - t0)
        if fails != (done.returncode != 0):
            raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr[-500:]}")
        lines = [line for line in done.stderr.splitlines() if line.lower().startswith("error")]
        error = lines[0] if lines else done.stderr.strip().splitlines()[-1:][0] if done.stderr.strip() else ""
    return statistics.median(times), error


@contextmanager
def node_with_a_model() -> Iterator[tuple[Path, dict[str, str]]]:
    """A scratch folder and environment for a fresh anvil with a deployment and model 1."""
    from openledger_chain.chain import DEV_MNEMONIC
    from openledger_chain.cli.node import find_anvil

    anvil = find_anvil(ROOT)
    if anvil is None:
        raise SystemExit("anvil is missing: run `make install` (npm ci) first")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([str(anvil), "--host", "127.0.0.1", "--port", str(port), "--chain-id", "31337",
                                "--mnemonic", DEV_MNEMONIC, "--silent"], stdout=subprocess.DEVNULL)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
            scratch = Path(folder)
            for name in SCRATCH_FILES:
                if name == "round.json":
                    (scratch / name).write_text("{}\n")
                else:
                    shutil.copyfile(ROOT / "examples" / "attribution" / name, scratch / name)
            env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLEDGER_")}
            env |= {"OPENLEDGER_RPC_URL": f"http://127.0.0.1:{port}", "COLUMNS": "200"}
            deadline = time.monotonic() + 20
            while subprocess.run([OPENLEDGER, "deploy", "--challenge-window", "0"], cwd=scratch, env=env,
                                 capture_output=True).returncode != 0:
                if time.monotonic() > deadline:
                    raise SystemExit("could not deploy on anvil within 20 s")
                time.sleep(0.2)
            subprocess.run([OPENLEDGER, "model", "register", "--spec", "spec.json"], cwd=scratch, env=env,
                           check=True, capture_output=True)
            yield scratch, env
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--only", choices=("help", "errors"), default=None)
    args = p.parse_args()
    baseline_cmd = HELP_CASES['python -c "import click"']
    baseline, _ = median_seconds(baseline_cmd, args.runs)
    if args.only != "errors":
        print("| invocation | median (s) | ratio to import click |")
        print("|---|---:|---:|")
        for name, cmd in HELP_CASES.items():
            seconds, _ = median_seconds(cmd, args.runs)
            print(f"| `{name}` | {seconds:.3f} | {seconds / baseline:.1f}x |")
    if args.only != "help":
        with node_with_a_model() as (scratch, env):
            print("\n| error case | median (s) | ratio to import click | error |")
            print("|---|---:|---:|---|")
            for case in ERROR_CASES:
                seconds, error = median_seconds([OPENLEDGER, *case], args.runs, cwd=scratch, env=env, fails=True)
                shown = error if len(error) <= 90 else error[:89] + "…"
                print(f"| `openledger {' '.join(case)}` | {seconds:.3f} | {seconds / baseline:.1f}x | {shown} |",
                      flush=True)


if __name__ == "__main__":
    main()

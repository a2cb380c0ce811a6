"""`openledger demo`: the whole flow on the embedded chain, in one process."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from openledger_chain.cli.options import console, handle_errors, print_rows

if TYPE_CHECKING:
    from openledger_chain.demo import DemoResult


@click.command("demo", short_help="Run the end-to-end demo on the embedded chain.")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False), default=Path("out/demo"),
              show_default=True, help="Where the demo writes its contribution files and round files.")
@handle_errors
def demo(workdir: Path) -> DemoResult:
    """The life of a model on an in-process chain: deploy, register a model and one contribution of each
    kind (including a label flipper and a copier), pay usage fees, run round 1 (signed by 2 of 3 oracles),
    finalize it, claim stake, withdraw fees; then a newcomer and round 2 on a fresh evaluation set, where
    everyone claims the difference (one with a proof from the chain alone), fees over both periods, and
    `verify` of both rounds.

    Returns the demo's result to a caller that invokes the command in-process (`standalone_mode=False`)."""
    from openledger_chain.demo import run_demo

    result = run_demo(workdir, lambda title, rows: print_rows(title, rows))
    console.print(f"[green]demo complete[/]: round files {result.round_file} and {result.second_round_file}",
                  highlight=False)
    return result

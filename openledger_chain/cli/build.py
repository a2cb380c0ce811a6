"""`openledger compile`: build the contracts, or check the committed artifacts against the sources."""

from __future__ import annotations

from pathlib import Path

import click

from openledger_chain.cli.options import abort, console, handle_errors


@click.command("compile", short_help="Compile contracts/ into the committed artifacts (or --check them).")
@click.option("--check", is_flag=True, help="Do not compile: fail if an artifact no longer matches its sources.")
@click.option("--project-root", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="Folder holding contracts/ and node_modules/.")
@handle_errors
def compile_command(check: bool, project_root: Path) -> None:
    """Compile every contract under contracts/ (solc 0.8.28, optimizer 200 runs, cancun) with a native
    solc if one is installed, else solc-js through node, and write openledger_chain/build/artifacts/.

    With --check, compare each committed artifact's source hashes and settings with the files on
    disk and exit 1 naming every stale contract."""
    from openledger_chain.build.compiler import compile_contracts, stale_artifacts, write_artifacts

    if check:
        problems = stale_artifacts(project_root)
        if problems:
            for problem in problems:
                console.print(f"[red]stale[/] {problem}", highlight=False)
            abort(f"{len(problems)} artifact(s) do not match contracts/; run `openledger compile` and commit them")
        console.print("artifacts match contracts/ [green]✓[/]")
        return
    with console.status("compiling contracts/ …"):
        artifacts = compile_contracts(project_root)
        write_artifacts(artifacts)
    for name, artifact in artifacts.items():
        size = (len(artifact.deployed_bytecode) - 2) // 2
        console.print(f"  {name:<24} {size:>6} bytes  ({artifact.source_name})", highlight=False)
    console.print(f"wrote {len(artifacts)} artifacts with solc {next(iter(artifacts.values())).compiler_version}")

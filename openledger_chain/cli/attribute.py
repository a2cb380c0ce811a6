"""`openledger attribute`: offline attribution of a round from files (parse, call, render)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openledger_chain.cli.options import (
    EXISTING_FILE, ID, abort, console, dask_context, dask_options, err_console, print_exclusions, warn_if_not_on_dask,
)
from openledger_chain.errors import InputError, OpenLedgerError

if TYPE_CHECKING:  # the engine (scikit-learn) loads only when the command runs
    from openledger_chain.attribution.kinds import AttestedClaim, Verifier

_STAGES = {"reading": "reading contributions", "valuing": "valuing rows", "recipes": "scoring recipes"}


def _attestation_verifier(attestors: tuple[str, ...]) -> Verifier | None:
    """EIP-191 check of owner attestations against the --attestor addresses (the engine takes a verifier hook)."""
    if not attestors:
        return None
    from eth_account import Account
    from eth_account.messages import encode_defunct

    allowed = {a.lower() for a in attestors}

    def verify(claim: AttestedClaim) -> bool:
        if claim.signer.lower() not in allowed:
            return False
        try:
            signer = Account.recover_message(encode_defunct(text=claim.message), signature=claim.signature)
        except Exception:  # a malformed signature is simply not an attestation
            return False
        return signer.lower() == claim.signer.lower()

    return verify


def _render(report_json: dict) -> None:
    table = Table(title=f"attribution ({report_json['method']['name']})")
    table.add_column("contributor", no_wrap=True, min_width=42)
    table.add_column("value", justify="right")
    table.add_column("share", justify="right")
    table.add_column("amount", justify="right")
    amounts = {a["address"]: a["amount"] for a in report_json["allocations"]}
    for c in report_json["contributors"]:
        table.add_row(c["address"], f"{c['value']:.6g}", f"{c['share']:.4%}", amounts.get(c["address"], "-"))
    console.print(table)


@click.command("attribute", short_help="Value a round's contributions offline and split an emission.")
@click.option("--spec", "spec_path", required=True, type=EXISTING_FILE, help="SPEC.json (model spec).")
@click.option("--contributions", "manifest_path", required=True, type=EXISTING_FILE, help="MANIFEST.json.")
@click.option("--eval", "eval_path", required=True, type=EXISTING_FILE,
              help="Evaluation file: CSV, or Parquet / .npz when the spec names an embedding.")
@click.option("--emission", type=int, default=None, help="Integer amount to allocate (sum of amounts equals it).")
@click.option("--seed", type=int, default=None, help="Overrides the spec's seed.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None, help="Write OUT.json here (else stdout).")
@click.option("--attestor", "attestors", multiple=True, help="Model-owner address whose attestations count (repeatable).")
@click.option("--model", "model_id", type=ID, default=0, show_default=True,
              help="On-chain model id that compute/evaluation attestations were signed for.")
@click.option("--revealed", "revealed", multiple=True, type=EXISTING_FILE,
              help="Evaluation CSV of an earlier round, revealed after it (repeatable): copies of its rows earn nothing.")
@click.option("--exclude-malformed", is_flag=True,
              help="Leave out (and list) contributions whose file is malformed instead of failing, as the oracle does.")
@dask_options
def attribute(
    spec_path: Path,
    manifest_path: Path,
    eval_path: Path,
    emission: int | None,
    seed: int | None,
    out_path: Path | None,
    attestors: tuple[str, ...],
    model_id: int,
    revealed: tuple[Path, ...],
    exclude_malformed: bool,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Value every contribution in MANIFEST with the spec's method on EVAL, and, with --emission,
    split that integer amount among contributors. Deterministic for a given seed."""
    if emission is not None and not 0 <= emission < 2**256:
        abort(f"--emission must be in [0, 2**256-1], got {emission}", 2)
    if seed is not None and not 0 <= seed < 2**32:
        abort(f"--seed must be in [0, 2**32), got {seed}", 2)
    from openledger_chain.address import normalize_address  # eth-utils: once the numbers hold

    try:
        attestor_list = tuple(normalize_address(a, where="--attestor") for a in attestors)
    except InputError as exc:
        abort(str(exc), exc.exit_code)
    from openledger_chain.attribution.engine import attribute_files  # scikit-learn: once the arguments hold
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True, disable=not err_console.is_terminal,
    ) as bar:
        tasks: dict[str, object] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        try:
            with dask_context(scheduler, workers):
                report = attribute_files(
                    spec_path, manifest_path, eval_path,
                    emission=emission, seed=seed, verifier=_attestation_verifier(attestor_list), progress=tick,
                    model_id=model_id, revealed=revealed, exclude_malformed=exclude_malformed,
                )
        except OpenLedgerError as exc:  # escaped as handle_errors does: "[dask]" is not rich markup
            abort(str(exc).replace("[", "\\["), exc.exit_code)
    doc = report.to_json()
    warn_if_not_on_dask(scheduler, workers, doc["method"]["name"])
    attested = [c["id"] for c in doc["contributions"] if c["kind"] in ("compute", "evaluation")]
    if attested and not attestor_list:
        err_console.print(f"[yellow]warning[/]: {len(attested)} compute/evaluation claim(s) count 0 units: no --attestor "
                          "given (the model owner's address, whose signatures count)", highlight=False)
    text = json.dumps(doc, indent=2)
    if out_path is None:
        click.echo(text)
        return
    try:
        out_path.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        abort(f"{out_path}: cannot write ({exc.strerror})", 2)
    _render(doc)
    print_exclusions(doc["contributions"])
    for cid, reason in doc.get("malformed", {}).items():
        err_console.print(f"[yellow]left out[/] {cid}: malformed: {reason}", highlight=False)
    err_console.print(f"wrote {out_path}", highlight=False)

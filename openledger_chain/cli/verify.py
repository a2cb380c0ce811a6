"""`openledger verify`: recompute a round from its file and the chain; exit 0 only if every check holds."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from openledger_chain.cli.options import (
    EXISTING_FILE,
    ID,
    abort,
    committee_identities,
    console,
    dask_context,
    dask_options,
    encryption_key_option,
    fetch_options,
    fetch_settings,
    handle_errors,
    json_option,
    network_options,
    open_ledger,
    print_rows,
    recompute_options,
)

MARKS = {True: Text("✓", style="green"), False: Text("✗", style="red"), None: Text("–", style="dim")}


@click.command("verify", short_help="Recompute a round from its file and the chain; exit 0 only if all checks hold.")
@network_options
@click.argument("round_file", type=EXISTING_FILE, required=False)
@click.option("--model", "model_id", type=ID, default=None, help="Without a round file: the model ...")
@click.option("--round", "round_id", type=ID, default=None, help="... and the round to check from the chain alone.")
@recompute_options
@encryption_key_option
@click.option("--dev-account", type=click.IntRange(0, 9), default=None,
              help="Recompute as this dev account's committee member (local chains): its derived encryption key.")
@fetch_options
@json_option
@dask_options
@handle_errors
def verify(network: str, rpc_url: str | None, round_file: Path | None, model_id: int | None, round_id: int | None,
           spec_path: Path | None, eval_path: Path | None, data_dir: Path, revealed: tuple[Path, ...],
           encryption_key: Path | None, dev_account: int | None,
           ipfs_gateway: str | None, cache_dir: Path | None, max_content_bytes: int, as_json: bool,
           workers: int | None, scheduler: str | None) -> None:
    """Check ROUND_FILE against the chain, trusting no oracle: its hashes, its inputs against the registry,
    the allocations against the scores, the cumulative amounts against earlier rounds' on-chain lists, the
    Merkle root, the signatures, and the round and score list the distributor holds (a tree that pays
    what the published lists do not justify fails). With --spec and --eval, the attribution is recomputed
    too; contributions are encrypted to the committee, so only a committee member (oracle or guardian, with
    --encryption-key, or --dev-account on local chains) can recompute it, and everyone else runs every other
    check. Without ROUND_FILE, --model and --round check what the chain holds. Guardians: run this on every
    pending round, and veto (`openledger round veto`) if it fails."""
    if round_file is None and (model_id is None or round_id is None):
        abort("give a ROUND_FILE, or --model and --round to check a round from the chain alone", 2)
    if (spec_path is None) != (eval_path is None):
        abort("--spec and --eval go together (both are needed to recompute the attribution)", 2)
    from openledger_chain.oracle import RecomputeInputs
    from openledger_chain.verify import verify_round

    ledger = open_ledger(network, rpc_url)
    member = None
    if dev_account is not None:
        from openledger_chain.cli.options import resolve_account

        member = resolve_account(ledger.chain, None, None, dev_account)
    identities = committee_identities(ledger, encryption_key, member) if spec_path and eval_path else ()
    fetch = fetch_settings(data_dir, ipfs_gateway, cache_dir, max_content_bytes, identities)
    attribution = RecomputeInputs(spec_path, eval_path, data_dir, revealed, fetch) if spec_path and eval_path else None
    with dask_context(scheduler, workers):
        result = verify_round(ledger, round_file_path=round_file, model_id=model_id, round_id=round_id,
                              attribution=attribution)
    if as_json:
        print_rows("", [{"check": c.name, "ok": c.ok, "detail": c.detail} for c in result.checks]
                   + [{"check": "difference", **d} for d in result.differences], as_json=True)
    else:
        rows = [{"check": c.name, "result": MARKS[c.ok], "detail": c.detail} for c in result.checks]
        print_rows(f"round {result.round_id} of model {result.model_id}", rows)
        if result.differences:
            print_rows("what differs, per contributor", result.differences)
        console.print(f"{'[green]' if result.ok else '[red]'}{result.verdict}[/]", highlight=False)
    if not result.ok:
        raise SystemExit(1)

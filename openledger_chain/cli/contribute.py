"""`openledger contribute` and `openledger contributions list`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from openledger_chain.cli.options import (
    ID,
    abort,
    account_options,
    console,
    err_console,
    handle_errors,
    json_option,
    network_options,
    open_index,
    open_ledger,
    print_rows,
    read_db_option,
    resolve_account,
)

KINDS = ["data", "compute", "finetune", "evaluation", "annotation"]


@click.command("contribute", short_help="Encrypt a file to the committee and register it as a contribution.")
@network_options
@account_options(5, "contributor")
@click.option("--model", "model_id", type=ID, required=True, help="Model id.")
@click.option("--kind", type=click.Choice(KINDS), default="data", show_default=True)
@click.option("--uri", default=None, help="Where oracles fetch the file you publish: the encrypted file (or, with "
              "--public, PATH itself) at https://…, ipfs://CID or a path (default: its file:// URI, readable on "
              "this machine only).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the encrypted file [default: PATH.age]; publish it at --uri.")
@click.option("--public", is_flag=True, help="Register PATH unencrypted, readable by anyone (open data sets). "
              "Anyone may then copy it; copies registered after yours earn nothing.")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@json_option
@handle_errors
def contribute(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
               model_id: int, kind: str, uri: str | None, out: Path | None, public: bool, path: Path,
               as_json: bool) -> None:
    """Encrypt PATH to the committee's current key (only the model's oracles and guardians can read it) and
    register it as a contribution of KIND to the model, pinned by the keccak256 of PATH's plaintext bytes.
    Publish the encrypted file at --uri. The content belongs to whoever committed to it first (the CLI
    commits, then registers in the next block). Prints the contribution id."""
    from eth_utils import keccak

    from openledger_chain.types import ContributionKind

    if not path.is_file():
        abort(f"file {path} not found", 2)
    if public and out is not None:
        abort("--out names the encrypted file; a --public contribution is registered as it is", 2)
    ledger = open_ledger(network, rpc_url)
    contributor = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=5)
    content_hash = keccak(path.read_bytes())
    published = path if public else _encrypt_for_committee(ledger, path, out or path.with_name(path.name + ".age"))
    try:
        contribution_id, receipt = ledger.register_contribution(
            contributor, model_id, ContributionKind.parse(kind), content_hash, uri or published.resolve().as_uri()
        )
    except BaseException:
        if published != path:
            published.unlink(missing_ok=True)  # nothing registered: leave no encrypted copy behind
        raise
    if uri is None and not ledger.chain.is_local:
        err_console.print(f"[yellow]note[/]: registered {published.resolve().as_uri()}, which only this machine can "
                          "read; oracles elsewhere will leave it out. Publish the file and register it with "
                          "--uri https://… or ipfs://… (the content hash pins the bytes)", highlight=False)
    if as_json:
        print_rows("", [{"contributionId": contribution_id, "contentHash": "0x" + content_hash.hex(),
                         "published": str(published)}], True)
        return
    console.print(f"contribution {contribution_id} registered: {kind} 0x{content_hash.hex()} by "
                  f"{contributor.address} (gas {receipt['gasUsed']})", highlight=False)


def _encrypt_for_committee(ledger: Any, path: Path, out: Path) -> Path:
    """Encrypt `path` to the committee's current epoch key into `out` (before anything is sent on-chain)."""
    from openledger_chain.committee import contributor_recipient, read_committee
    from openledger_chain.confidential import encrypt_file

    if out.resolve() == path.resolve() or out.exists():
        abort(f"{out} exists; choose another --out (an encrypted file is never written over)", 2)
    epoch, recipient = contributor_recipient(read_committee(ledger))
    encrypt_file(path, out, recipient)
    err_console.print(f"encrypted {path.name} to the committee (epoch {epoch}) as {out}; publish that file",
                      highlight=False)
    return out


@click.group("contributions", short_help="List registered contributions.")
def contributions() -> None:
    """Contributions as the registry's events record them."""


@contributions.command("list", short_help="List a model's contributions.")
@network_options
@click.option("--model", "model_id", type=ID, default=None, help="Only this model.")
@read_db_option
@json_option
@handle_errors
def list_contributions(network: str, rpc_url: str | None, model_id: int | None, db_url: str | None,
                       as_json: bool) -> None:
    """List contributions (all models, or --model), oldest first. Status `withdrawn`: its contributor took it
    out of future rounds; `displaced`: someone who committed to the same content earlier registered it too."""
    from openledger_chain.indexer.reads import contributions_or_chain

    ledger = open_ledger(network, rpc_url)
    rows = [
        {"id": c.contribution_id, "model": c.model_id, "kind": c.kind.name.lower(), "contributor": c.contributor,
         "content hash": "0x" + c.content_hash.hex(), "uri": c.uri, "block": c.block_number,
         "status": "withdrawn" if c.withdrawn else "displaced" if c.displaced else "active"}
        for c in contributions_or_chain(ledger, model_id, open_index(db_url))
    ]
    if not rows and not as_json:
        console.print("no contributions registered yet")
        return
    print_rows("contributions", rows, as_json)

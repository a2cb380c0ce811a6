"""`openledger contribute` and `openledger contributions list`."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click

from openledger_chain.cli.options import (
    EXISTING_FILE,
    ID,
    abort,
    account_options,
    console,
    err_console,
    fetch_options,
    fetch_settings,
    handle_errors,
    json_option,
    network_options,
    open_ledger,
    print_rows,
    read_db_option,
    read_source,
    resolve_account,
)

KINDS = ["data", "compute", "finetune", "evaluation", "annotation"]
#: How long a relayed registration's signature (and its bond permit) stays valid.
RELAY_DEADLINE_SECONDS = 3600


@click.command("contribute", short_help="Check a file, encrypt it to the committee and register it as a contribution.")
@network_options
@account_options(5, "contributor")
@click.option("--model", "model_id", type=ID, required=True, help="Model id.")
@click.option("--kind", type=click.Choice(KINDS), default="data", show_default=True,
              help="data and annotation: a CSV of rows (a Parquet or .npz file of vectors when the spec names an "
              "embedding); finetune: a JSON recipe; compute and evaluation: a JSON claim "
              "with the model owner's attestation.")
@click.option("--uri", default=None, help="Where oracles fetch the file you publish: the encrypted file (or, with "
              "--public, PATH itself) at https://…, ipfs://CID or file://… (default: its file:// URI, readable on "
              "this machine only). It must serve that file's exact bytes before anything is registered.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where to write the encrypted file [default: PATH.age]; publish it at --uri.")
@click.option("--public", is_flag=True, help="Register PATH unencrypted, readable by anyone (open data sets). "
              "Anyone may then read it: copies registered after yours earn nothing, but rows made from "
              "yours moved by about one spacing are not caught and can earn about as much as yours "
              "(docs/attribution.md, 'Who can read what').")
@click.option("--spec", "spec_path", type=EXISTING_FILE, default=None,
              help="The model's spec file (it must hash to the spec hash registered on-chain) [default: fetched from "
              "the spec URI the model was registered with].")
@click.option("--no-fetch-check", is_flag=True, help="Register without checking that --uri serves the file (content "
              "that goes online only later); oracles leave the contribution out until it does.")
@click.option("--relayer-key-env", default=None, metavar="VAR", help="Relay: the relayer (its private key in "
              "environment variable VAR) sends and pays for the commitment and the registration; the contributor only "
              "signs them, and an EIP-2612 permit for its bond where the payment token has permits (it needs no ETH).")
@click.option("--relayer-dev-account", type=click.IntRange(0, 9), default=None,
              help="Relay, as --relayer-key-env, with dev-mnemonic account N as the relayer (local chains only).")
@fetch_options
@click.argument("path", type=EXISTING_FILE)
@json_option
@handle_errors
def contribute(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
               model_id: int, kind: str, uri: str | None, out: Path | None, public: bool, spec_path: Path | None,
               no_fetch_check: bool, relayer_key_env: str | None, relayer_dev_account: int | None,
               ipfs_gateway: str | None, cache_dir: Path | None, max_content_bytes: int, path: Path,
               as_json: bool) -> None:
    """Encrypt PATH to the committee's current key (only the model's oracles and guardians can read it) and
    register it as a contribution of KIND to the model, pinned by the keccak256 of PATH's plaintext bytes.
    Publish the encrypted file at --uri. The content belongs to whoever committed to it first (the CLI
    commits, then registers in the next block). Prints the contribution id.

    Before anything is sent (and before any encrypted file is kept): --uri must have a scheme every oracle
    fetches (https://, http://, ipfs://CID, file://); PATH must be what the round reads for KIND under the model's
    registered spec (data, annotation: a CSV with a header row, the spec's label column, its feature columns if the
    spec names them, numeric features, at least one row; a Parquet or .npz file of vectors of the spec's dimension and
    normalisation when it names an embedding; finetune: a recipe for the spec's estimator; compute,
    evaluation: a claim file); and --uri must serve exactly the published bytes (the encrypted file, or PATH with
    --public), fetched as an oracle fetches it. The spec comes from --spec, or from the model's registered spec URI;
    either way it must hash to the spec hash on-chain.

    With --relayer-key-env or --relayer-dev-account the relayer sends both transactions and pays their gas; the
    contributor signs the registration (EIP-712) and, when the model takes a bond in a token with EIP-2612
    permits, a permit for exactly the bond until the registration's deadline (said before it signs), which the
    relayer sends with the registration in one transaction through the bond vault."""
    from openledger_chain.preflight import check_uri

    if relayer_key_env is not None and relayer_dev_account is not None:
        abort("give one of --relayer-key-env and --relayer-dev-account", 2)
    relayed = relayer_key_env is not None or relayer_dev_account is not None

    if public and out is not None:
        abort("--out names the encrypted file; a --public contribution is registered as it is", 2)
    if uri is not None:
        check_uri(uri)
    from eth_utils import keccak

    from openledger_chain.preflight import check_contribution_file, check_served, registered_spec
    from openledger_chain.types import ContributionKind

    ledger = open_ledger(network, rpc_url)
    contributor = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=5)
    relayer = None
    if relayed:
        from openledger_chain.chain import load_account

        if relayer_key_env is not None and not os.environ.get(relayer_key_env, "").strip():
            abort(f"environment variable {relayer_key_env} is not set; export the relayer's private key there", 2)
        relayer = load_account(ledger.chain, key_env=relayer_key_env, dev_index=relayer_dev_account)
    settings = fetch_settings(Path("."), ipfs_gateway, cache_dir, max_content_bytes)
    spec = registered_spec(ledger, model_id, spec_path, settings)
    found = check_contribution_file(path, ContributionKind.parse(kind), spec, model_id)
    content_hash = keccak(path.read_bytes())
    encrypted = None if public else _encrypt_for_committee(ledger, path, out or path.with_name(path.name + ".age"))
    published = path if encrypted is None else encrypted[1]
    registered_uri = uri or published.resolve().as_uri()
    try:
        if no_fetch_check:
            _note("[yellow]warning[/]: did not check that {} serves {} (--no-fetch-check); oracles leave the "
                  "contribution out until it does", registered_uri, published)
        else:
            written_here = " (contribute writes it before the check: serve its folder at that address)"
            fix = (f"publish {published} there first{written_here if encrypted else ''}, or add --no-fetch-check "
                   "if it goes online only later")
            check_served(registered_uri, keccak(published.read_bytes()), str(published), settings, fix)
        if relayer is None:
            from openledger_chain.cli.bonds import approve_bond_for_registration

            bond = approve_bond_for_registration(ledger, contributor, model_id)
            contribution_id, receipt = ledger.register_contribution(
                contributor, model_id, ContributionKind.parse(kind), content_hash, registered_uri
            )
        else:
            bond, contribution_id, receipt = _relay(ledger, contributor, relayer, model_id,
                                                    ContributionKind.parse(kind), content_hash, registered_uri)
    except BaseException:
        if encrypted is not None:
            published.unlink(missing_ok=True)  # nothing registered: leave no encrypted copy behind
        raise
    _note("checked {} against model {}'s spec: {}, {}", path.name, model_id, kind, found)
    if encrypted is not None:
        where = f"{uri} serves it" if uri is not None and not no_fetch_check else "publish that file"
        _note("encrypted {} to the committee (epoch {}) as {}; {}", path.name, encrypted[0], published, where)
    if urlparse(registered_uri).scheme == "file" and not ledger.chain.is_local:
        _note("[yellow]note[/]: registered {}, which only this machine can read; oracles elsewhere will leave it "
              "out. Publish the file and register it with --uri https://… or ipfs://… (the content hash pins the "
              "bytes)", registered_uri)
    if as_json:
        print_rows("", [{"contributionId": contribution_id, "contentHash": "0x" + content_hash.hex(),
                         "published": str(published), "uri": registered_uri, "bond": bond}], True)
        return
    how = f"relayed by {relayer.address}, " if relayer is not None else ""
    console.print(f"contribution {contribution_id} registered: {kind} 0x{content_hash.hex()} by "
                  f"{contributor.address} ({how}gas {receipt['gasUsed']})", highlight=False, soft_wrap=True)


def _relay(ledger: Any, contributor: Any, relayer: Any, model_id: int, kind: Any, content_hash: bytes,
           uri: str) -> tuple[int, int, Any]:
    """The relayed registration: the relayer commits; the contributor signs the registration and, for a bond, a
    permit (said first); the relayer sends both in one transaction. Returns (bond, contribution id, receipt)."""
    from openledger_chain.cli.bonds import permit_bond_for_relayed_registration
    from openledger_chain.contracts import new_salt

    ledger.check_registrable(contributor.address, model_id, content_hash)
    now = int(ledger.chain.w3.eth.get_block("latest")["timestamp"])
    deadline = max(now, int(time.time())) + RELAY_DEADLINE_SECONDS
    bond = ledger.bond_amount(model_id)
    permit = permit_bond_for_relayed_registration(ledger, contributor, model_id, deadline)
    salt = new_salt()
    ledger.commit(relayer, [ledger.commitment(model_id, contributor.address, kind, content_hash, salt)])
    signed = ledger.sign_registration(contributor, model_id, kind, content_hash, uri, salt, deadline=deadline)
    if permit is not None:
        contribution_id, receipt = ledger.register_contribution_for_with_permit(relayer, model_id, signed, permit)
    else:
        contribution_id, receipt = ledger.register_contribution_for(
            relayer, contributor.address, model_id, kind, content_hash, uri, salt, deadline, signed.signature)
    return bond, contribution_id, receipt


def _note(text: str, *values: object) -> None:
    """One line to stderr (never wrapped: it names files and URIs); each `{}` in `text` is one of `values`, shown
    as it is (a URI such as http://[::1]/x is not rich markup)."""
    from rich.markup import escape

    err_console.print(text.format(*(escape(str(v)) for v in values)), highlight=False, soft_wrap=True)


def _encrypt_for_committee(ledger: Any, path: Path, out: Path) -> tuple[int, Path]:
    """Encrypt `path` to the committee's current epoch key into `out` (before anything is sent on-chain);
    returns (epoch, out)."""
    from openledger_chain.committee import contributor_recipient, read_committee
    from openledger_chain.confidential import encrypt_file

    if out.resolve() == path.resolve() or out.exists():
        abort(f"{out} exists; choose another --out (an encrypted file is never written over)", 2)
    epoch, recipient = contributor_recipient(read_committee(ledger))
    encrypt_file(path, out, recipient)
    return epoch, out


@click.group("contributions", short_help="List registered contributions; withdraw your own.")
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
    ledger = open_ledger(network, rpc_url)
    rows = [
        {"id": c.contribution_id, "model": c.model_id, "kind": c.kind.name.lower(), "contributor": c.contributor,
         "content hash": "0x" + c.content_hash.hex(), "uri": c.uri, "block": c.block_number,
         "status": "withdrawn" if c.withdrawn else "displaced" if c.displaced else "active"}
        for c in read_source(ledger, db_url).contributions(model_id)
    ]
    if not rows and not as_json:
        console.print("no contributions registered yet")
        return
    print_rows("contributions", rows, as_json)


@contributions.command("withdraw", short_help="Take your contribution out of future rounds.")
@network_options
@account_options(5, "contributor")
@click.argument("contribution_id", type=ID)
@handle_errors
def withdraw(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
             contribution_id: int) -> None:
    """Withdraw CONTRIBUTION_ID from every future round of its model: rounds already final keep what they
    allocated, later rounds leave it out. Only its contributor can, once; the registry is read first, so an
    unknown id, someone else's contribution or one already withdrawn is refused before anything is sent."""
    from openledger_chain.errors import ContractRevertError

    ledger = open_ledger(network, rpc_url)
    sender = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=5)
    try:
        record = ledger.get_contribution(contribution_id)
    except ContractRevertError as exc:
        if exc.name != "ContributionRegistryUnknownContribution":
            raise
        abort(f"no contribution {contribution_id} is registered; see `openledger contributions list`")
    if record.contributor != sender.address:
        abort(f"contribution {contribution_id} is {record.contributor}'s, not {sender.address}'s: only its "
              "contributor can withdraw it; sign with that account (--keystore, --key-env or --dev-account)")
    if record.withdrawn:
        abort(f"contribution {contribution_id} is already withdrawn: no later round of model {record.model_id} "
              "includes it; nothing to do")
    receipt = ledger.withdraw_contribution(sender, contribution_id)
    console.print(f"withdrew contribution {contribution_id} of model {record.model_id} from future rounds "
                  f"(gas {receipt['gasUsed']})", highlight=False, soft_wrap=True)

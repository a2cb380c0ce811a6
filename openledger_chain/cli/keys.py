"""`openledger keys`: the committee's encryption keys (create, publish, show, rewrap, decrypt)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from openledger_chain.cli.options import (
    abort,
    account_options,
    console,
    encryption_key_option,
    handle_errors,
    json_option,
    member_identity,
    network_options,
    open_ledger,
    print_rows,
    resolve_account,
)


@click.group("keys", short_help="Committee encryption keys: create, publish, show, rewrap, decrypt.")
def keys() -> None:
    """Contributed files and evaluation sets are encrypted to the model's committee (the distributor's oracles
    and guardians). Each member publishes an encryption key bound to its address; contributors encrypt to the
    committee's current epoch key, whose secret is wrapped to every member's key on-chain. A member added
    later is given every earlier epoch key by `keys rewrap`; after a member is removed, `keys rewrap` starts
    a new epoch it cannot open."""


def _member(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
            encryption_key: Path | None) -> tuple[Any, Any, Any]:
    """The deployment, the signing account and its own encryption identity (key file, or a dev account's)."""
    ledger = open_ledger(network, rpc_url)
    account = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=1)
    identity = member_identity(ledger.chain, encryption_key, account)
    if identity is None:
        abort("give your encryption key file with --encryption-key (create one with `openledger keys create`)", 2)
    return ledger, account, identity


@keys.command("create", short_help="Create a password-protected encryption key file.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Where to write the key file (never overwritten; mode 0600).")
def create(out: Path) -> None:
    """Create a new age X25519 key and write it to OUT, encrypted with OPENLEDGER_KEYSTORE_PASSWORD (prompted
    for when unset). The file is an age passphrase file: `age -d OUT` shows the key. Prints the public key;
    publish it with `openledger keys publish --encryption-key OUT`."""
    from openledger_chain.confidential import generate_identity, recipient_of, save_identity
    from openledger_chain.errors import InputError

    password = os.environ.get("OPENLEDGER_KEYSTORE_PASSWORD") or click.prompt(
        "password for the key file", hide_input=True, confirmation_prompt=True)
    identity = generate_identity()
    try:
        save_identity(identity, out, password)
    except InputError as exc:
        abort(str(exc), 2)
    console.print(f"wrote {out}; public key {recipient_of(identity)}", highlight=False)


@keys.command("publish", short_help="Publish your encryption key on-chain, bound to your address.")
@network_options
@account_options(1, "oracle")
@encryption_key_option
@handle_errors
def publish(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
            encryption_key: Path | None) -> None:
    """Publish the public half of --encryption-key (or, for a dev account on a local chain, its derived key) in
    CommitteeKeys from the signing account. Committee members (oracles, guardians) must publish before they can
    be given the committee's keys. Default signer: dev account 1 (an oracle)."""
    from openledger_chain.confidential import recipient_of

    ledger, account, identity = _member(network, rpc_url, keystore, key_env, dev_account, encryption_key)
    recipient = recipient_of(identity)
    if ledger.encryption_key(account.address) == recipient:
        console.print(f"{account.address} already publishes {recipient}: nothing to do", highlight=False)
        return
    receipt = ledger.publish_encryption_key(account, recipient)
    console.print(f"published {recipient} for {account.address} (gas {receipt['gasUsed']}); "
                  "next: a committee member runs `openledger keys rewrap`", highlight=False)


@keys.command("rewrap", short_help="Give every committee member the committee keys it lacks (a member runs it).")
@network_options
@account_options(1, "oracle")
@encryption_key_option
@handle_errors
def rewrap(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
           encryption_key: Path | None) -> None:
    """As a committee member: start a new epoch key when there is none or a former member holds the current
    one, then wrap every epoch key you hold to each current member (with a published key) who cannot open it
    yet. Run it after the timelock adds or removes an oracle or guardian, or a member publishes a new key.
    Safe to re-run: it does nothing when every member already holds every key you hold."""
    from openledger_chain.committee import read_committee
    from openledger_chain.committee import rewrap as rewrap_keys

    ledger, account, identity = _member(network, rpc_url, keystore, key_env, dev_account, encryption_key)
    result = rewrap_keys(ledger, account, identity, read_committee(ledger))
    if result.new_epoch is not None:
        console.print(f"started committee key epoch {result.new_epoch}, wrapped to every member with a published key",
                      highlight=False)
    for epoch, members in result.wrapped.items():
        console.print(f"wrapped epoch {epoch} to {', '.join(members)}", highlight=False)
    if result.missing:
        console.print(f"you do not hold epoch(s) {', '.join(map(str, result.missing))}: a member who does runs "
                      "`openledger keys rewrap` to give them to you", highlight=False)
    elif result.new_epoch is None and not result.wrapped:
        console.print("every member already holds every committee key you hold: nothing to do")


@keys.command("show", short_help="Who is on the committee, their keys, and which epochs each can open.")
@network_options
@json_option
@handle_errors
def show(network: str, rpc_url: str | None, as_json: bool) -> None:
    """List the committee (oracles and guardians), each member's published key and the epochs wrapped to it,
    and whether contributors can encrypt now (the current epoch opens for every member and no former one)."""
    from openledger_chain.committee import contributor_recipient, read_committee
    from openledger_chain.errors import InputError

    ledger = open_ledger(network, rpc_url)
    state = read_committee(ledger)
    members = [{"member": m,
                "role": "oracle" if ledger.distributor.functions.isOracle(m).call() else "guardian",
                "encryption_key": state.keys.get(m) or None,
                "epochs_it_opens": [e for e in sorted(state.epochs) if state.has_wrap(e, m)]}
               for m in state.members]
    try:
        epoch, recipient = contributor_recipient(state)
        status = f"contributors encrypt to epoch {epoch}: {recipient}"
    except InputError as exc:
        epoch, recipient, status = None, None, f"contributors cannot encrypt yet: {exc}"
    if as_json:
        print_rows("", [{"members": members, "epochs": state.epochs, "encrypt_to_epoch": epoch,
                         "encrypt_to": recipient, "status": status}], True)
        return
    print_rows("committee", [{
        "member": m["member"], "role": m["role"], "encryption key": m["encryption_key"] or "(none published)",
        "epochs it opens": ", ".join(map(str, m["epochs_it_opens"])) or "none"} for m in members])
    console.print(status, highlight=False)


@keys.command("decrypt", short_help="Open a file encrypted to the committee (members only).")
@network_options
@account_options(1, "oracle")
@encryption_key_option
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Where to write the plaintext (mode 0600; never overwritten).")
@handle_errors
def decrypt(network: str, rpc_url: str | None, keystore: Path | None, key_env: str | None, dev_account: int | None,
            encryption_key: Path | None, path: Path, out: Path) -> None:
    """Decrypt PATH (a contribution or a revealed evaluation set encrypted to the committee) with the epoch
    keys wrapped to you, into OUT, readable by you alone."""
    from openledger_chain.cli.options import committee_identities
    from openledger_chain.confidential import decrypt_bytes

    if out.exists():
        abort(f"{out} exists; choose another --out", 2)
    ledger = open_ledger(network, rpc_url)
    account = resolve_account(ledger.chain, keystore, key_env, dev_account, default_dev=1)
    plaintext = decrypt_bytes(path.read_bytes(), committee_identities(ledger, encryption_key, account))
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(plaintext)
    console.print(f"wrote {out} ({len(plaintext)} bytes)", highlight=False)

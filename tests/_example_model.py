"""A model of the example data (examples/attribution) on the shared test chain, with contributions registered."""

from __future__ import annotations

import shutil
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from _ledger_setup import settle_registrations

from openledger_chain.contracts import OpenLedger
from openledger_chain.types import ContributionKind, Model, ModelParams

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "attribution"
TOKEN = 10**18


def example_model(ledger: OpenLedger, owner: LocalAccount, folder: Path, extra_files: tuple[str, ...],
                  contributions: dict[str, LocalAccount]) -> Model:
    """Copy spec.json, `extra_files` and the `contributions` files into `folder`, register the model (owner
    `owner`, spec.json's hash) and each file as a data contribution of its account (relative URIs)."""
    for name in ("spec.json", *extra_files, *contributions):
        shutil.copyfile(EXAMPLE / name, folder / name)
    spec = folder / "spec.json"
    model, _ = ledger.register_model(owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 1_000 * TOKEN,
        1_000_000 * TOKEN, "Stake", "STK"))
    for name, who in contributions.items():
        ledger.register_contribution(who, model.model_id, ContributionKind.DATA, keccak((folder / name).read_bytes()),
                                     name)
    settle_registrations(ledger.chain)  # rounds count registrations no older commitment can displace
    return model

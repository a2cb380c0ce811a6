"""The approximate copy search's cells are seeded from the chain (issue 25): the hash of the round's registry block,
which nobody knows when registering, recorded in the round's method and checked by every signer and by verify."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eth_utils import keccak

from _ledger_setup import settle_registrations
from test_oracle import EXAMPLE, OWNER, TOKEN, _propose

from openledger_chain.contracts import OpenLedger
from openledger_chain.oracle import (
    RecomputeInputs,
    RoundError,
    RoundFile,
    sign_round_file,
    write_round_file,
)
from openledger_chain.rounds import canonical_hash
from openledger_chain.types import ContributionKind, ModelParams
from openledger_chain.verify import verify_round


def setup_model(ledger: OpenLedger, accounts, workdir: Path, copy_search: str | None):  # type: ignore[no-untyped-def]
    """The example model (its spec with `copy_search` when given), alice's, bob's and carol's files registered."""
    for name in ("spec.json", "eval.csv", "alice.csv", "bob.csv", "carol.csv"):
        shutil.copyfile(EXAMPLE / name, workdir / name)
    spec = workdir / "spec.json"
    if copy_search is not None:
        spec.write_text(json.dumps(json.loads(spec.read_text()) | {"copy_search": copy_search}))
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 1_000 * TOKEN,
        1_000_000 * TOKEN, "Stake", "STK",
    ))
    for filename, who in {"alice.csv": accounts.alice, "bob.csv": accounts.bob, "carol.csv": accounts.carol}.items():
        ledger.register_contribution(who, model.model_id, ContributionKind.DATA, keccak((workdir / filename).read_bytes()),
                                     filename)
    settle_registrations(ledger.chain)
    return model


def registry_block_hash(ledger: OpenLedger, body: dict) -> str:  # type: ignore[type-arg]
    return "0x" + bytes(ledger.chain.w3.eth.get_block(int(body["registryBlock"]))["hash"]).hex()


def test_an_approximate_round_records_the_registry_block_hash_and_signers_recompute_with_it(
        ledger, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = setup_model(ledger, accounts, tmp_path, "approximate")
    path, round_file = _propose(ledger, model, tmp_path)
    method = round_file.body["method"]
    assert method["copy_search"] == "approximate"
    assert method["copy_search_seed"] == registry_block_hash(ledger, round_file.body)
    # A signing oracle reruns the attribution with the seed it reads from the chain, and agrees.
    sign_round_file(ledger, path, accounts.oracles[0], RecomputeInputs(tmp_path / "spec.json", tmp_path / "eval.csv", tmp_path))
    checks = {c.name: c for c in verify_round(ledger, round_file_path=path).checks}
    assert checks["commitments"].ok and checks["method hash"].ok


def test_a_round_file_with_another_seed_is_not_signed_and_fails_verify(ledger, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A proposer who picks the seed picks which copies the candidates miss: a seed other than the registry
    block's hash is refused, even when the file is otherwise consistent (its hashes recomputed)."""
    model = setup_model(ledger, accounts, tmp_path, "approximate")
    path, round_file = _propose(ledger, model, tmp_path)
    body = json.loads(json.dumps(round_file.body))
    body["method"]["copy_search_seed"] = "0x" + "11" * 32
    body["methodHash"] = "0x" + canonical_hash(body["method"]).hex()
    write_round_file(path, RoundFile(body, canonical_hash(body)))
    with pytest.raises(RoundError, match="copy search seed 0x1111.* is not the hash of its registry block"):
        sign_round_file(ledger, path, accounts.oracles[0])
    result = verify_round(ledger, round_file_path=path)
    assert not result.ok
    assert any(c.name == "commitments" and c.ok is False and "copy search seed" in c.detail for c in result.checks)
    # Leaving the seed out of an approximate round does not help either.
    del body["method"]["copy_search_seed"]
    body["methodHash"] = "0x" + canonical_hash(body["method"]).hex()
    write_round_file(path, RoundFile(body, canonical_hash(body)))
    with pytest.raises(RoundError, match="copy search seed None is not the hash"):
        sign_round_file(ledger, path, accounts.oracles[0])


def test_an_exact_round_records_no_seed(ledger, accounts, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An exact round's method is what it was before the seed existed (its file unchanged, field for field)."""
    model = setup_model(ledger, accounts, tmp_path, None)
    _, round_file = _propose(ledger, model, tmp_path)
    assert "copy_search" not in round_file.body["method"] and "copy_search_seed" not in round_file.body["method"]

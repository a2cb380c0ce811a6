"""`verify` and claims from the chain alone, on the embedded chain: an honest round passes every check
(the attribution recomputed too); each tamper of a round file is caught by the check that names it; a
round whose tree pays what its published list does not justify is caught from the file and from the
chain alone, and nobody can claim from it without a round file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_oracle import _commit_next_eval, _propose, setup  # noqa: F401 - `setup` is a fixture

from openledger_chain.claims import UnjustifiedRootError, claim_all_from_chain, claim_from_chain, claimable_from_chain
from openledger_chain.history import cumulative_tree
from openledger_chain.oracle import (
    claim_from_round_file,
    finalize_round,
    read_round_file,
    sign_round_file,
    submit_round_file,
)
from openledger_chain.rounds import canonical_hash
from openledger_chain.verify import AttributionInputs, verify_round


def _proposed(ledger, accounts, setup):  # noqa: F811 - the fixture's value
    model, workdir = setup
    _commit_next_eval(ledger, model, workdir, accounts.owner)
    path, _ = _propose(ledger, model, workdir)
    return model, workdir, path


def _sign_and_submit(ledger, accounts, path):
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    submit_round_file(ledger, path, accounts.oracles[0], chunk=2)


def _finalize(ledger, accounts, model_id):
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + 3601)
    finalize_round(ledger, model_id, accounts.deployer)


def _failed(result) -> set[str]:
    return {c.name for c in result.checks if c.ok is False}


def test_an_honest_round_passes_every_check_and_claims_from_the_chain_alone(ledger, accounts, setup):  # noqa: F811
    model, workdir, path = _proposed(ledger, accounts, setup)
    _sign_and_submit(ledger, accounts, path)
    inputs = AttributionInputs(workdir / "spec.json", workdir / "eval.csv", workdir)
    result = verify_round(ledger, round_file_path=path, attribution=inputs)
    assert result.ok and not result.differences, result.checks
    assert {c.name for c in result.checks if c.ok} >= {
        "format", "round file hash", "method hash", "network", "inputs", "scores hash", "allocations", "attribution",
        "cumulative", "merkle root", "signatures", "on-chain round", "status", "on-chain score list",
        "tree vs on-chain lists"}
    _finalize(ledger, accounts, model.model_id)
    chain_only = verify_round(ledger, model_id=model.model_id, round_id=1)
    assert chain_only.ok and "tree vs on-chain lists" in {c.name for c in chain_only.checks if c.ok}
    # Claims without the round file mint exactly what the round file would.
    expected = read_round_file(path).cumulative
    stake = claimable_from_chain(ledger, model.model_id, accounts.alice.address)
    assert stake.cumulative == expected[accounts.alice.address] and stake.claimed == 0
    minted, _ = claim_from_chain(ledger, model.model_id, accounts.alice.address, accounts.stranger)
    assert minted == expected[accounts.alice.address]
    stakes, _ = claim_all_from_chain(ledger, accounts.bob.address, accounts.bob)
    assert [(s.model_id, s.amount) for s in stakes] == [(model.model_id, expected[accounts.bob.address])]
    assert claim_from_round_file(ledger, path, accounts.carol.address, accounts.carol)[0] == \
        expected[accounts.carol.address]


def _rewrite(path: Path, change, *, rehash: bool = True) -> Path:
    """A tampered copy of the round file: `change(data)` edits it; `rehash` covers the tracks."""
    data = json.loads(path.read_text())
    change(data)
    if rehash:
        data["roundFileHash"] = "0x" + canonical_hash(data["body"]).hex()
    tampered = path.with_name("tampered.json")
    tampered.write_text(json.dumps(data))
    return tampered


def _bump(items, index, key, delta=1):
    items[index][key] = str(int(items[index][key]) + delta)


@pytest.mark.parametrize(("tamper", "rehash", "caught_by"), [
    (lambda d: _bump(d["body"]["scores"], 0, "score", 10**15), False, {"round file hash", "scores hash"}),
    (lambda d: _bump(d["body"]["scores"], 0, "score", 10**15), True, {"allocations", "scores hash"}),
    (lambda d: (_bump(d["body"]["scores"], 0, "amount"), _bump(d["body"]["scores"], 1, "amount", -1)), True,
     {"allocations", "cumulative", "scores hash"}),
    (lambda d: _bump(d["body"]["cumulative"], 0, "amount"), True, {"cumulative", "merkle root"}),
    (lambda d: d["body"].update(merkleRoot="0x" + "ab" * 32), True, {"merkle root"}),
    (lambda d: d["signatures"].__setitem__(0, d["signatures"][1]), False, {"signatures"}),
])
def test_each_tamper_is_caught_by_the_check_that_names_it(ledger, accounts, setup, tamper, rehash, caught_by):  # noqa: F811
    model, workdir, path = _proposed(ledger, accounts, setup)
    _sign_and_submit(ledger, accounts, path)
    result = verify_round(ledger, round_file_path=_rewrite(path, tamper, rehash=rehash))
    assert not result.ok
    assert caught_by <= _failed(result), result.checks


def test_a_tree_the_published_list_does_not_justify_is_caught_and_unclaimable(ledger, accounts, setup):  # noqa: F811
    """Two dishonest oracles sign a round whose list is honest but whose tree moves 100 of alice's stake to
    the stranger (the sums still add up, so the oracles' own pre-signing checks pass)."""
    model, workdir, path = _proposed(ledger, accounts, setup)

    def pay_the_stranger(data):
        body = data["body"]
        cumulative = {c["account"]: int(c["amount"]) for c in body["cumulative"]}
        cumulative[accounts.alice.address] -= 100 * 10**18
        cumulative[accounts.stranger.address] = 100 * 10**18
        tree = cumulative_tree(cumulative)
        body["cumulative"] = [{"account": a, "amount": str(v)} for a, v in
                              sorted(cumulative.items(), key=lambda item: int(item[0], 16))]
        body["merkleRoot"], body["tree"] = tree.root, tree.dump()

    forged = _rewrite(path, pay_the_stranger)
    _sign_and_submit(ledger, accounts, forged)
    from_file = verify_round(ledger, round_file_path=forged)
    assert {"cumulative", "tree vs on-chain lists"} <= _failed(from_file)
    assert "merkle root" not in _failed(from_file)  # the forgery is self-consistent
    from_chain = verify_round(ledger, model_id=model.model_id, round_id=1)
    assert _failed(from_chain) == {"tree vs on-chain lists"}
    _finalize(ledger, accounts, model.model_id)  # nobody vetoed it
    with pytest.raises(UnjustifiedRootError, match="does not justify"):
        claim_from_chain(ledger, model.model_id, accounts.alice.address, accounts.alice)


def test_attestations_are_checked_against_the_owner_the_oracles_saw(ledger, accounts, setup):  # noqa: F811
    """A round pays attested compute; the model then changes hands. Recomputing the round must still
    count the attestation of the owner at the round's submission, not the new owner's."""
    from eth_utils import keccak

    from openledger_chain.oracle import sign_owner_attestation
    from openledger_chain.types import ContributionKind

    model, workdir = setup
    worker = accounts.stranger
    claim = {"units": 120, "attestation": sign_owner_attestation(accounts.owner, model.model_id, "compute", worker.address, 120)}
    (workdir / "compute.json").write_text(json.dumps(claim))
    ledger.register_contribution(worker, model.model_id, ContributionKind.COMPUTE,
                                 keccak((workdir / "compute.json").read_bytes()), "compute.json")
    _, _, path = _proposed(ledger, accounts, setup)
    assert read_round_file(path).cumulative[worker.address] > 0
    _sign_and_submit(ledger, accounts, path)
    registry = ledger.registry
    ledger.chain.transact(registry.functions.transferModelOwnership(model.model_id, accounts.carol.address), accounts.owner)
    ledger.chain.transact(registry.functions.acceptModelOwnership(model.model_id), accounts.carol)
    assert ledger.get_model(model.model_id).owner == accounts.carol.address
    inputs = AttributionInputs(workdir / "spec.json", workdir / "eval.csv", workdir)
    result = verify_round(ledger, round_file_path=path, attribution=inputs)
    assert "attribution" in {c.name for c in result.checks if c.ok}, result.checks
    assert not result.differences

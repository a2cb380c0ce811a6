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
from openledger_chain.rewards import allocate_quantized
from openledger_chain.rounds import (
    ScoreEntry,
    canonical_hash,
    order_signatures,
    scores_hash,
    sign_round,
    sorted_score_entries,
)
from openledger_chain.oracle import RecomputeInputs
from openledger_chain.verify import verify_round


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
    inputs = RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir)
    result = verify_round(ledger, round_file_path=path, attribution=inputs)
    assert result.ok and not result.differences, result.checks
    assert {c.name for c in result.checks if c.ok} >= {
        "format", "round file hash", "method hash", "network", "inputs", "payees", "commitments", "scores hash",
        "allocations", "attribution",
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
    ledger.chain.mine_blocks(256)  # the registration settles (ContributionRegistry.REVEAL_PERIOD_BLOCKS)
    _, _, path = _proposed(ledger, accounts, setup)
    assert read_round_file(path).cumulative[worker.address] > 0
    _sign_and_submit(ledger, accounts, path)
    registry = ledger.registry
    ledger.chain.transact(registry.functions.transferModelOwnership(model.model_id, accounts.carol.address), accounts.owner)
    ledger.chain.transact(registry.functions.acceptModelOwnership(model.model_id), accounts.carol)
    assert ledger.get_model(model.model_id).owner == accounts.carol.address
    inputs = RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir)
    result = verify_round(ledger, round_file_path=path, attribution=inputs)
    assert "attribution" in {c.name for c in result.checks if c.ok}, result.checks
    assert not result.differences


# ----- k dishonest oracles (red team): a self-consistent, signed and submitted file that pays the wrong people


def _forge(path: Path, change) -> Path:
    """A re-hashed (self-consistent) copy of the round file whose body `change` edited, signed by nobody yet."""
    data = json.loads(path.read_text())
    change(data["body"])
    data["body"]["methodHash"] = "0x" + canonical_hash(data["body"]["method"]).hex()
    data["roundFileHash"] = "0x" + canonical_hash(data["body"]).hex()
    data["signatures"] = []
    forged = path.with_name("forged.json")
    forged.write_text(json.dumps(data, indent=1))
    return forged


def _pay(body: dict, shares: dict[str, int]) -> None:
    """Replace round 1's score list by `shares` and rebuild what follows from it, as propose does."""
    amounts = allocate_quantized(shares, int(body["emission"]))
    entries = sorted_score_entries(ScoreEntry(a, s, amounts[a]) for a, s in shares.items())
    body["scores"] = [{"account": e.account, "score": str(e.score), "amount": str(e.amount)} for e in entries]
    body["scoresHash"] = "0x" + scores_hash(entries).hex()
    tree = cumulative_tree({e.account: e.amount for e in entries})
    body["cumulative"] = [{"account": e.account, "amount": str(e.amount)} for e in entries if e.amount > 0]
    body["merkleRoot"], body["tree"] = tree.root, tree.dump()


def _dishonest_submit(ledger, accounts, path: Path) -> None:
    """Two oracles sign (without the honest pre-signing checks), submit and publish the whole list."""
    round_file = read_round_file(path)
    chain_id, distributor = ledger.chain.chain_id, ledger.distributor.address
    signatures = [sign_round(o.key, chain_id, distributor, round_file.round) for o in accounts.oracles[:2]]
    data = json.loads(path.read_text())
    data["signatures"] = ["0x" + s.hex() for s in signatures]
    path.write_text(json.dumps(data, indent=1))
    ordered = order_signatures(chain_id, distributor, round_file.round, signatures)
    ledger.chain.transact(ledger.distributor.functions.submitRound(round_file.round.as_tuple(), [s for _, s in ordered]),
                          accounts.oracles[0])
    entries = sorted_score_entries(round_file.score_entries)
    ledger.chain.transact(ledger.distributor.functions.publishScores(
        round_file.round.model_id, round_file.round.round_id, [e.abi_values() for e in entries]), accounts.oracles[0])


def test_a_file_calling_itself_sampled_cannot_skip_the_recomputation_nor_pay_a_stranger(ledger, accounts, setup):  # noqa: F811
    """The spec's method is exact; the forged file says "sampled" (verify used to skip the attribution on
    the file's word) and pays 70% to an account that contributed nothing."""
    model, workdir, path = _proposed(ledger, accounts, setup)
    forged = _forge(path, lambda b: (b["method"].update(status="sampled"), _pay(b, {
        accounts.alice.address: 10**17, accounts.bob.address: 10**17, accounts.carol.address: 10**17,
        accounts.stranger.address: 7 * 10**17})))
    _dishonest_submit(ledger, accounts, forged)
    result = verify_round(ledger, round_file_path=forged,
                          attribution=RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir))
    assert {"payees", "attribution"} <= _failed(result), result.checks
    assert {"account": accounts.stranger.address, "what": "payee", "stated": "scored",
            "expected": "not a contributor of any input"} in result.differences
    # Without --spec/--eval the recomputation is skipped, but the payee check still fails the file.
    assert "payees" in _failed(verify_round(ledger, round_file_path=forged))


def test_a_round_valued_on_an_evaluation_set_nobody_committed_fails_commitments(ledger, accounts, setup):  # noqa: F811
    """Oracles value the round on another set and state its hash: the recomputation on that set agrees, so
    only the comparison with the owner's on-chain commitment catches it."""
    model, workdir, path = _proposed(ledger, accounts, setup)
    forged = _forge(path, lambda b: b["method"].update(evalHash="0x" + "ab" * 32))
    _dishonest_submit(ledger, accounts, forged)
    result = verify_round(ledger, round_file_path=forged)
    assert "commitments" in _failed(result), result.checks


def test_an_honest_oracle_will_not_sign_what_one_dishonest_proposer_wrote(ledger, accounts, setup):  # noqa: F811
    """Red team: `round sign` checked only that a file was self-consistent, so honest oracles signed a
    proposer's forged allocation and k of n protected nothing. A stranger among the payees is refused by
    the checks every signature runs; scores moved between contributors, by the recomputation."""
    from openledger_chain.oracle import RoundError

    model, workdir, path = _proposed(ledger, accounts, setup)
    recompute = RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir)
    honest = read_round_file(path)
    stranger = _forge(path, lambda b: _pay(b, {e.account: e.score for e in honest.score_entries}
                                           | {accounts.stranger.address: 10**17}))
    with pytest.raises(RoundError, match="scores 1 accounts that contributed none of its inputs"):
        sign_round_file(ledger, stranger, accounts.oracles[0])
    scores = {e.account: e.score for e in honest.score_entries}
    richest, poorest = max(scores, key=scores.get), min(scores, key=scores.get)
    moved = scores | {richest: scores[poorest], poorest: scores[richest]}
    forged = _forge(path, lambda b: _pay(b, moved))
    sign_round_file(ledger, forged, accounts.oracles[0])  # self-consistent: without the data, it signs
    with pytest.raises(RoundError, match="recomputed scores differ from the round file's for 2 accounts"):
        sign_round_file(ledger, forged, accounts.oracles[1], recompute)
    assert len(sign_round_file(ledger, path, accounts.oracles[1], recompute).signatures) == 1


def test_honest_rounds_pass_when_others_register_or_withdraw_around_them(ledger, accounts, setup):  # noqa: F811
    """Red team: a contribution registered between propose and submit (signing takes time) was 'left out'
    (the cutoff was the submission block), and once a contributor withdrew, recomputing the round failed
    'files missing': a guardian would have vetoed honest rounds. Now the cutoff is the block propose read
    the registry at (`registryBlock`), and a past round is recomputed from its own inputs."""
    import shutil

    from eth_utils import keccak
    from test_oracle import EXAMPLE

    from openledger_chain.oracle import RecomputeInputs
    from openledger_chain.types import ContributionKind

    model, workdir, path = _proposed(ledger, accounts, setup)
    body = read_round_file(path).body
    assert int(body["registryBlock"]) <= ledger.chain.w3.eth.block_number
    shutil.copyfile(EXAMPLE / "dave.csv", workdir / "dave.csv")
    ledger.register_contribution(accounts.stranger, model.model_id, ContributionKind.DATA,
                                 keccak((workdir / "dave.csv").read_bytes()), "dave.csv")
    _sign_and_submit(ledger, accounts, path)
    bob = next(int(i["id"]) for i in body["inputs"] if i["contributor"] == accounts.bob.address)
    ledger.withdraw_contribution(accounts.bob, bob)
    result = verify_round(ledger, round_file_path=path,
                          attribution=RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir))
    assert result.ok, [c for c in result.checks if c.ok is False]
    # A proposer cannot claim to have read the registry after its round was submitted.
    late = _rewrite(path, lambda d: d["body"].update(registryBlock=str(ledger.chain.w3.eth.block_number + 5)))
    assert "inputs" in _failed(verify_round(ledger, round_file_path=late))


def test_the_method_record_and_contribution_table_must_be_the_recomputations(ledger, accounts, setup):  # noqa: F811
    """Red team: a file could state k = 50 (the round used 5) or mark a contributor's data as a copy with no
    value, and verify recomputed only the scores. Now both records are compared with the recomputation."""
    model, workdir, path = _proposed(ledger, accounts, setup)
    recompute = RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir)

    def attribution_detail(change) -> str:  # type: ignore[no-untyped-def]
        forged = _forge(path, change)
        check = next(c for c in verify_round(ledger, round_file_path=forged, attribution=recompute).checks
                     if c.name == "attribution")
        assert check.ok is False, check
        return check.detail

    assert "method fields differ: k" in attribution_detail(lambda b: b["method"].update(k="50"))
    first = read_round_file(path).body["contributions"][0]["id"]
    detail = attribution_detail(lambda b: b["contributions"][0].update(value="0", derivative_of="2"))
    assert f"contributions table differs for 1 (first: {first})" in detail


def test_an_oracle_removed_after_the_round_does_not_void_its_signatures(ledger, accounts, setup):  # noqa: F811
    """Red team (noticed): signatures were checked against today's oracles, so an honest round failed
    verify once one of its signers was removed. They are checked as the distributor stood at submission."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent / "contracts"))
    from _round_helpers import admin

    model, workdir, path = _proposed(ledger, accounts, setup)
    _sign_and_submit(ledger, accounts, path)  # signed by oracles 0 and 1
    _finalize(ledger, accounts, model.model_id)
    admin(ledger, accounts.deployer, ledger.distributor.functions.removeOracle(accounts.oracles[1].address))
    assert not ledger.distributor.functions.isOracle(accounts.oracles[1].address).call()
    result = verify_round(ledger, round_file_path=path)
    assert "signatures" not in _failed(result), result.checks


def test_an_input_left_out_as_unavailable_but_available_here_is_reported(ledger, accounts, setup):  # noqa: F811
    """Red team (finding 4): the recomputation takes the oracle's word for what it could not fetch. bob's
    file was missing when the round was proposed and is here now: verify says so (the oracle may simply
    have failed to fetch it, so it is a question for the oracle, not a failed check)."""
    model, workdir = setup
    (workdir / "bob.csv").rename(workdir / "bob.away")
    _commit_next_eval(ledger, model, workdir, accounts.owner)
    path, round_file = _propose(ledger, model, workdir)
    (workdir / "bob.away").rename(workdir / "bob.csv")
    _sign_and_submit(ledger, accounts, path)
    recompute = RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir)
    result = verify_round(ledger, round_file_path=path, attribution=recompute)
    check = next(c for c in result.checks if c.name == "exclusions")
    assert check.ok is None and "1 of 1 inputs left out were fetched here" in check.detail, check
    assert {"account": accounts.bob.address, "what": "input 2", "stated": "file not found",
            "expected": "fetched here with its registered hash"} in result.differences
    assert result.ok  # an honest oracle may have failed to fetch it
    (workdir / "bob.csv").unlink()
    check = next(c for c in verify_round(ledger, round_file_path=path, attribution=recompute).checks
                 if c.name == "exclusions")
    assert check.ok is True, check

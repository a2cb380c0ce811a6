"""Revealed evaluation sets come from the chain: a round counts every set revealed on-chain before it was
proposed, fetched from its URI; signers and verifiers check that and fetch the same files; `--revealed`
only stands in for a fetch. Each way a round can get this wrong fails with its cause named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _example_model import example_model
from eth_utils import keccak

from openledger_chain.errors import InputError
from openledger_chain.fetch import FetchSettings
from openledger_chain.oracle import (
    RecomputeInputs,
    RoundError,
    finalize_round,
    propose_round,
    read_round_file,
    sign_round_file,
    submit_round_file,
)
from openledger_chain.rounds import canonical_hash
from openledger_chain.verify import verify_round



@pytest.fixture
def after_round_one(ledger, accounts, tmp_path: Path):
    """A model whose round 1 is final, with round 2's evaluation set committed (round 1's not yet revealed)."""
    model = example_model(ledger, accounts.owner, tmp_path, ("eval.csv", "eval2.csv"),
                          {"alice.csv": accounts.alice, "bob.csv": accounts.bob, "carol.csv": accounts.carol})
    for round_id, name in ((1, "eval.csv"), (2, "eval2.csv")):
        ledger.commit_evaluation(accounts.owner, model.model_id, round_id, keccak((tmp_path / name).read_bytes()))
    path, _ = _propose(ledger, model, tmp_path, "eval.csv")
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle, _inputs(tmp_path, "eval.csv"))
    submit_round_file(ledger, path, accounts.oracles[0])
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + 3601)
    finalize_round(ledger, model.model_id, accounts.deployer)
    return model, tmp_path


def _propose(ledger, model, workdir: Path, eval_name: str, **kwargs):
    return propose_round(ledger, model.model_id, spec_path=workdir / "spec.json", eval_path=workdir / eval_name,
                         rounds_dir=workdir / "rounds", data_dir=workdir, overwrite=True,
                         fetch=FetchSettings(base_dir=workdir, cache_dir=workdir / "cache"), **kwargs)


def _inputs(workdir: Path, eval_name: str, revealed: tuple[Path, ...] = ()) -> RecomputeInputs:
    return RecomputeInputs(workdir / "spec.json", workdir / eval_name, workdir, revealed,
                           FetchSettings(base_dir=workdir, cache_dir=workdir / "signer-cache"))


def _digest(path: Path) -> str:
    return "0x" + keccak(path.read_bytes()).hex()


def test_a_set_revealed_on_chain_is_fetched_and_counted_without_revealed(ledger, accounts, after_round_one) -> None:
    model, work = after_round_one
    _, unrevealed = _propose(ledger, model, work, "eval2.csv")
    # Published somewhere else than the oracles' data folder: only its on-chain URI leads to it.
    published = work / "published" / "eval-1.csv"
    published.parent.mkdir()
    shutil.copyfile(work / "eval.csv", published)
    ledger.reveal_evaluation(accounts.owner, model.model_id, 1, published.as_uri())
    (work / "eval.csv").unlink()
    path, round_file = _propose(ledger, model, work, "eval2.csv")
    assert round_file.body["method"]["revealedEvalHashes"] == [_digest(published)]
    for oracle in accounts.oracles[1:3]:
        sign_round_file(ledger, path, oracle, _inputs(work, "eval2.csv"))
    assert len(read_round_file(path).signatures) == 2
    submit_round_file(ledger, path, accounts.oracles[1])
    result = verify_round(ledger, round_file_path=path, attribution=_inputs(work, "eval2.csv"))
    assert result.ok, [(c.name, c.detail) for c in result.checks if c.ok is False]
    (attribution,) = [c for c in result.checks if c.name == "attribution"]
    assert attribution.ok is True
    # Counting the set changes the round (its rows join the reference rows copies are measured against), so the
    # signers, who had no copy of it, recomputed the same scores only by fetching it from its on-chain URI.
    assert round_file.body["scores"] != unrevealed.body["scores"]


def test_a_round_file_that_leaves_out_a_revealed_set_is_refused_naming_it(ledger, accounts, after_round_one) -> None:
    model, work = after_round_one
    ledger.reveal_evaluation(accounts.owner, model.model_id, 1, (work / "eval.csv").as_uri())
    path, _ = _propose(ledger, model, work, "eval2.csv")
    doc = json.loads(path.read_text())
    doc["body"]["method"]["revealedEvalHashes"] = []
    doc["body"]["methodHash"] = "0x" + canonical_hash(doc["body"]["method"]).hex()
    doc["roundFileHash"] = "0x" + canonical_hash(doc["body"]).hex()
    path.write_text(json.dumps(doc))
    with pytest.raises(RoundError, match="the proposer left out round 1's revealed evaluation set"):
        sign_round_file(ledger, path, accounts.oracles[1], _inputs(work, "eval2.csv"))
    # Anyone sees it, no data needed.
    (commitments,) = [c for c in verify_round(ledger, round_file_path=path).checks if c.name == "commitments"]
    assert commitments.ok is False and "left out round 1's revealed evaluation set" in commitments.detail


def test_a_set_revealed_after_the_proposal_is_not_required_and_not_added(ledger, accounts, after_round_one) -> None:
    model, work = after_round_one
    path, round_file = _propose(ledger, model, work, "eval2.csv")
    assert round_file.body["method"]["revealedEvalHashes"] == []
    ledger.reveal_evaluation(accounts.owner, model.model_id, 1, (work / "eval.csv").as_uri())
    sign_round_file(ledger, path, accounts.oracles[1], _inputs(work, "eval2.csv"))  # the round read the chain earlier
    # A signer that adds the set on its own would recompute another round: refused with that cause, not as
    # "recomputed scores differ".
    with pytest.raises(InputError, match="is not one of the revealed evaluation sets this round counts"):
        sign_round_file(ledger, path, accounts.oracles[2], _inputs(work, "eval2.csv", (work / "eval.csv",)))


def test_an_unreadable_revealed_set_stops_the_proposal_until_its_file_is_given(ledger, accounts,
                                                                                after_round_one) -> None:
    model, work = after_round_one
    gone = work / "moved-away.csv"
    ledger.reveal_evaluation(accounts.owner, model.model_id, 1, gone.as_uri())
    with pytest.raises(InputError, match=r"round 1's revealed evaluation set at file://.*moved-away.csv could not "
                                         r"be read \(.*\); give its file with --revealed FILE"):
        _propose(ledger, model, work, "eval2.csv")
    path, round_file = _propose(ledger, model, work, "eval2.csv", revealed=[work / "eval.csv"])
    assert round_file.body["method"]["revealedEvalHashes"] == [_digest(work / "eval.csv")]
    sign_round_file(ledger, path, accounts.oracles[1], _inputs(work, "eval2.csv", (work / "eval.csv",)))
    with pytest.raises(InputError, match="give its file with --revealed FILE"):
        sign_round_file(ledger, path, accounts.oracles[2], _inputs(work, "eval2.csv"))

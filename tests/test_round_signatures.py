"""Signatures from many machines: each oracle signs its own copy of the proposed round file and hands back a
detached signature file (or its signed copy); the submitter merges them. Every signature must recover, for
exactly this round, to a current oracle; duplicates are dropped; the order is the contract's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _example_model import example_model
from eth_utils import keccak

from openledger_chain.chain import dev_accounts
from openledger_chain.errors import InputError
from openledger_chain.oracle import (
    RecomputeInputs,
    RoundError,
    RoundFile,
    propose_round,
    read_round_file,
    sign_round_file,
    submit_round_file,
)
from openledger_chain.round_signatures import (
    collect_signatures,
    detach,
    merge_signatures,
    write_signature_file,
)
from openledger_chain.rounds import recover_round_signer, sign_round



@pytest.fixture
def proposed(ledger, accounts, tmp_path: Path) -> Path:
    """A proposed, unsigned round 1 file (the proposer's copy)."""
    model = example_model(ledger, accounts.owner, tmp_path, ("eval.csv",),
                          {"alice.csv": accounts.alice, "bob.csv": accounts.bob})
    spec = tmp_path / "spec.json"
    ledger.commit_evaluation(accounts.owner, model.model_id, 1, keccak((tmp_path / "eval.csv").read_bytes()))
    path, _ = propose_round(ledger, model.model_id, spec_path=spec, eval_path=tmp_path / "eval.csv",
                            rounds_dir=tmp_path / "rounds", data_dir=tmp_path)
    return path


def _sign_elsewhere(ledger, proposed: Path, oracle, name: str) -> tuple[Path, Path]:
    """An oracle on its own machine: signs its own copy, hands back (signed copy, detached signature file)."""
    folder = proposed.parents[3] / name
    folder.mkdir()
    copy = folder / proposed.name
    shutil.copyfile(proposed, copy)
    work = proposed.parents[3]
    signed = sign_round_file(ledger, copy, oracle, RecomputeInputs(work / "spec.json", work / "eval.csv", work))
    detached = folder / "round-1.sig.json"
    write_signature_file(detached, detach(signed, ledger.chain.chain_id, ledger.distributor.address, oracle.address))
    return copy, detached


def _signers(ledger, path: Path) -> list[str]:
    round_file = read_round_file(path)
    return [recover_round_signer(ledger.chain.chain_id, ledger.distributor.address, round_file.round, s)
            for s in round_file.signatures]


def test_signatures_from_three_machines_merge_in_the_contracts_order_and_submit(ledger, accounts, proposed) -> None:
    handed = [_sign_elsewhere(ledger, proposed, oracle, f"oracle-{i}") for i, oracle in enumerate(accounts.oracles)]
    assert len(json.loads(handed[0][1].read_text())) == 9 and handed[0][1].stat().st_size < 1_000
    # One hands back its signed copy, the others their signature files; one file arrives twice.
    merged = collect_signatures(ledger, proposed, [handed[2][1], handed[0][0], handed[1][1], handed[2][1]])
    oracles = sorted((o.address for o in accounts.oracles), key=lambda a: int(a, 16))
    assert _signers(ledger, proposed) == oracles
    assert sorted(merged.added) == oracles and merged.duplicates == 1
    # Merging again adds nothing and leaves the file as it is.
    before = proposed.read_bytes()
    again = collect_signatures(ledger, proposed, [handed[1][0]])
    assert again.added == () and again.duplicates == 1 and proposed.read_bytes() == before
    result = submit_round_file(ledger, proposed, accounts.oracles[0])
    assert result.submitted
    assert ledger.pending_round(read_round_file(proposed).round.model_id).round_id == 1


def test_a_signature_of_another_round_file_is_refused_naming_both(ledger, accounts, proposed, tmp_path) -> None:
    _, detached = _sign_elsewhere(ledger, proposed, accounts.oracles[1], "oracle-1")
    doc = json.loads(detached.read_text())
    doc["roundFileHash"] = "0x" + "ab" * 32
    detached.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"signs round file 0xabab.*, not this one \(0x.*\); every oracle must sign"):
        merge_signatures(ledger, read_round_file(proposed), [detached])


def test_a_signature_whose_stated_signer_is_not_who_signed_is_refused(ledger, accounts, proposed) -> None:
    _, detached = _sign_elsewhere(ledger, proposed, accounts.oracles[1], "oracle-1")
    doc = json.loads(detached.read_text())
    doc["signer"] = accounts.oracles[2].address
    detached.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=f"says it is {accounts.oracles[2].address}'s signature, but it recovers to "
                                         f"{accounts.oracles[1].address}"):
        merge_signatures(ledger, read_round_file(proposed), [detached])


def test_a_signature_of_other_round_data_or_a_non_oracle_is_refused(ledger, accounts, proposed, tmp_path) -> None:
    round_file = read_round_file(proposed)
    stranger = dev_accounts()[7]
    forged = tmp_path / "stranger.sig.json"
    chain_id, distributor = ledger.chain.chain_id, ledger.distributor.address
    signature = sign_round(stranger.key, chain_id, distributor, round_file.round)
    write_signature_file(forged, detach(RoundFile(round_file.body, round_file.round_file_hash, (signature,)),
                                        chain_id, distributor, stranger.address))
    with pytest.raises(InputError, match=f"signature of {stranger.address}, which is not an oracle"):
        merge_signatures(ledger, round_file, [forged])
    # An oracle's signature made on another chain recovers to someone else here.
    elsewhere = sign_round(accounts.oracles[1].key, chain_id + 1, distributor, round_file.round)
    copy = tmp_path / "copy.json"
    copy.write_text(json.dumps(RoundFile(round_file.body, round_file.round_file_hash, (elsewhere,)).to_json()))
    with pytest.raises(InputError, match="which is not an oracle .*or it signed other round data"):
        merge_signatures(ledger, round_file, [copy])


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "neither a signature file nor a round file"),
    ('{"kind": "something else"}', "neither a signature file"),
    ('{"kind": "openledger-round-signature", "version": "9"}', "has version '9'"),
    ('{"kind": "openledger-round-signature", "version": "1", "chainId": "1"}', "is malformed"),
])
def test_malformed_signature_files_are_refused_in_one_line(ledger, proposed, tmp_path, content, message) -> None:
    bad = tmp_path / "bad.sig.json"
    bad.write_text(content)
    with pytest.raises(InputError, match=message):
        merge_signatures(ledger, read_round_file(proposed), [bad])
    with pytest.raises(InputError, match="not found"):
        merge_signatures(ledger, read_round_file(proposed), [tmp_path / "missing.sig.json"])


def test_a_signature_file_for_another_chain_is_refused(ledger, accounts, proposed) -> None:
    _, detached = _sign_elsewhere(ledger, proposed, accounts.oracles[1], "oracle-1")
    doc = json.loads(detached.read_text())
    doc["chainId"] = "1"
    detached.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=f"is for chain id 1 and distributor .*, not chain id {ledger.chain.chain_id}"):
        merge_signatures(ledger, read_round_file(proposed), [detached])


def test_submit_with_too_few_signatures_says_how_to_get_more_before_any_transaction(ledger, accounts,
                                                                                     proposed) -> None:
    copy, _ = _sign_elsewhere(ledger, proposed, accounts.oracles[1], "oracle-1")
    nonce = ledger.chain.w3.eth.get_transaction_count(accounts.oracles[1].address)
    with pytest.raises(RoundError, match=r"holds 1 oracle signatures and 2 are needed: .*round collect"):
        submit_round_file(ledger, copy, accounts.oracles[1])
    assert ledger.chain.w3.eth.get_transaction_count(accounts.oracles[1].address) == nonce

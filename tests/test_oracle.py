"""The round pipeline end to end on the embedded chain: propose, sign k of n, submit, publish,
finalize, claim; and what it refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eth_utils import keccak, to_checksum_address

from _ledger_setup import settle_registrations

from openledger_chain.chain import dev_accounts
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import ContractRevertError, InputError
from openledger_chain.merkle import StandardMerkleTree
from openledger_chain.oracle import (
    RoundError,
    claim_from_round_file,
    finalize_round,
    propose_round,
    read_round_file,
    sign_round_file,
    submit_round_file,
)
from openledger_chain.rounds import canonical_hash
from openledger_chain.types import ContributionKind, ModelParams

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "attribution"
OWNER = dev_accounts()[4]  # the `owner` role of tests/conftest.py, who registers the model below
TOKEN = 10**18


@pytest.fixture
def setup(ledger: OpenLedger, accounts, tmp_path: Path):
    return example_setup(ledger, accounts, tmp_path)


def example_setup(ledger: OpenLedger, accounts, tmp_path: Path):
    """The example model with alice's, bob's and carol's files registered and settled, in `tmp_path`."""
    for name in ("spec.json", "eval.csv", "alice.csv", "bob.csv", "carol.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    spec = tmp_path / "spec.json"
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 1_000 * TOKEN,
        1_000_000 * TOKEN, "Stake", "STK",
    ))
    people = {"alice.csv": accounts.alice, "bob.csv": accounts.bob, "carol.csv": accounts.carol}
    for filename, who in people.items():
        path = tmp_path / filename
        ledger.register_contribution(who, model.model_id, ContributionKind.DATA, keccak(path.read_bytes()), filename)
    settle_registrations(ledger.chain)  # propose counts only registrations no older commitment can displace
    return model, tmp_path


def _commit_next_eval(ledger, model, workdir, owner, eval_name: str = "eval.csv") -> int:
    """The owner commits the evaluation set of the model's next round; returns that round's id."""
    round_id = ledger.distributor.functions.finalizedRound(model.model_id).call()[1] + 1
    if ledger.evaluation_commitment(model.model_id, round_id)[1] == 0:
        ledger.commit_evaluation(owner, model.model_id, round_id, keccak((workdir / eval_name).read_bytes()))
    return round_id


def _propose(ledger, model, workdir, **kwargs):
    _commit_next_eval(ledger, model, workdir, OWNER)
    return propose_round(ledger, model.model_id, spec_path=workdir / "spec.json", eval_path=workdir / "eval.csv",
                         rounds_dir=workdir / "rounds", data_dir=workdir, **kwargs)


def _sign_submit_finalize(ledger, accounts, path):
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    result = submit_round_file(ledger, path, accounts.oracles[0], chunk=2)
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + 3601)
    finalize_round(ledger, read_round_file(path).round.model_id, accounts.deployer)
    return result


def test_round_pipeline_mints_exactly_the_allocations(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, round_file = _propose(ledger, model, workdir)
    assert round_file.round_file_hash == canonical_hash(round_file.body)
    result = _sign_submit_finalize(ledger, accounts, path)
    assert result.submitted and result.published_entries == 3 and len(result.receipts) == 3  # submit + 2 chunks
    stake = ledger.stake_token(model.model_id)
    for who in (accounts.alice, accounts.bob, accounts.carol):
        amount, _ = claim_from_round_file(ledger, path, who.address, who)
        assert stake.functions.balanceOf(who.address).call() == amount == round_file.cumulative[who.address]
    assert stake.functions.totalSupply().call() == 1_000 * TOKEN


def test_second_round_carries_cumulative_amounts_and_mints_the_delta(ledger, accounts, setup) -> None:
    model, workdir = setup
    path1, round1 = _propose(ledger, model, workdir)
    _sign_submit_finalize(ledger, accounts, path1)
    claim_from_round_file(ledger, path1, accounts.alice.address, accounts.alice)
    path2, round2 = _propose(ledger, model, workdir, emission=500 * TOKEN)
    assert round2.round.round_id == 2 and round2.round.cumulative_emission == 1_500 * TOKEN
    for account, amount in round2.cumulative.items():
        assert amount >= round1.cumulative.get(account, 0)
    _sign_submit_finalize(ledger, accounts, path2)
    with pytest.raises(RoundError, match="latest final round is 2"):
        claim_from_round_file(ledger, path1, accounts.bob.address, accounts.bob)
    delta, _ = claim_from_round_file(ledger, path2, accounts.alice.address, accounts.alice)
    assert delta == round2.cumulative[accounts.alice.address] - round1.cumulative[accounts.alice.address]


def test_submit_is_idempotent_and_resumes_publishing(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, _ = _propose(ledger, model, workdir)
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    first = submit_round_file(ledger, path, accounts.oracles[0], chunk=2)
    again = submit_round_file(ledger, path, accounts.oracles[2], chunk=2)
    assert first.submitted and not again.submitted and again.published_entries == 0
    pending = ledger.pending_round(model.model_id)
    assert pending.scores_complete and pending.scores_publisher == accounts.oracles[0].address
    assert ledger.score_list(model.model_id, accounts.oracles[0].address).count == 3  # nothing published twice
    assert ledger.score_list(model.model_id, accounts.oracles[2].address).count == 0


def test_signing_twice_keeps_one_signature_and_non_oracles_cannot_sign(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, _ = _propose(ledger, model, workdir)
    sign_round_file(ledger, path, accounts.oracles[0])
    assert len(sign_round_file(ledger, path, accounts.oracles[0]).signatures) == 1
    with pytest.raises(InputError, match="is not an oracle"):
        sign_round_file(ledger, path, accounts.stranger)


def test_a_tampered_round_file_is_refused(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, _ = _propose(ledger, model, workdir)
    data = json.loads(path.read_text())
    data["body"]["cumulative"][0]["amount"] = str(int(data["body"]["cumulative"][0]["amount"]) + 1)
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="was altered"):
        sign_round_file(ledger, path, accounts.oracles[0])


def test_contribution_whose_file_changed_is_excluded(ledger, accounts, setup) -> None:
    model, workdir = setup
    with (workdir / "carol.csv").open("a") as handle:
        handle.write((workdir / "alice.csv").read_text().splitlines()[1] + "\n")
    _, round_file = _propose(ledger, model, workdir)
    excluded = {i["id"]: i["excluded"] for i in round_file.body["inputs"] if "excluded" in i}
    assert list(excluded.values()) == ["content hash mismatch"]
    assert accounts.carol.address not in round_file.cumulative


def test_withdrawn_contribution_earns_nothing(ledger, accounts, setup) -> None:
    model, workdir = setup
    bob_id = next(c.contribution_id for c in ledger.contributions(model.model_id) if c.contributor == accounts.bob.address)
    ledger.withdraw_contribution(accounts.bob, bob_id)
    _, round_file = _propose(ledger, model, workdir)
    assert accounts.bob.address not in round_file.cumulative
    assert sum(round_file.cumulative.values()) == 1_000 * TOKEN


def test_spec_must_match_the_registered_hash(ledger, accounts, setup) -> None:
    model, workdir = setup
    spec = workdir / "spec.json"
    spec.write_text(spec.read_text().replace('"seed": 0', '"seed": 1'))
    with pytest.raises(InputError, match="registered spec hash"):
        _propose(ledger, model, workdir)


def test_round_file_tree_matches_the_onchain_root_and_proofs(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, round_file = _propose(ledger, model, workdir)
    _sign_submit_finalize(ledger, accounts, path)
    root, round_id, cumulative, _ = ledger.distributor.functions.finalizedRound(model.model_id).call()
    tree = StandardMerkleTree.load(round_file.body["tree"])
    assert "0x" + bytes(root).hex() == tree.root and round_id == 1 and cumulative == 1_000 * TOKEN


def test_claim_for_an_account_without_stake_is_refused_before_sending(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, _ = _propose(ledger, model, workdir)
    _sign_submit_finalize(ledger, accounts, path)
    with pytest.raises(RoundError, match="no stake"):
        claim_from_round_file(ledger, path, accounts.stranger.address, accounts.stranger)
    claim_from_round_file(ledger, path, accounts.alice.address, accounts.alice)
    with pytest.raises(ContractRevertError) as error:
        claim_from_round_file(ledger, path, accounts.alice.address, accounts.alice)
    assert error.value.name == "RewardDistributorNothingToClaim"


def test_only_an_oracle_can_submit_and_publish(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, _ = _propose(ledger, model, workdir)
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    with pytest.raises(InputError, match="only oracles may publish"):
        submit_round_file(ledger, path, accounts.stranger)


def test_stake_earns_the_same_fees_whenever_it_is_claimed(ledger, accounts, setup) -> None:
    model, workdir = setup
    ledger.chain.transact(ledger.erc20(ledger.dev_payment_token).functions.mint(accounts.payer.address, 10**24),
                          accounts.payer)
    ledger.pay_usage(accounts.payer, model.model_id, 100 * TOKEN)  # before any stake: held
    path, round_file = _propose(ledger, model, workdir)
    _sign_submit_finalize(ledger, accounts, path)
    claim_from_round_file(ledger, path, accounts.alice.address, accounts.alice)
    ledger.pay_usage(accounts.payer, model.model_id, 50 * TOKEN)  # alice holds, bob and carol not yet
    claim_from_round_file(ledger, path, accounts.bob.address, accounts.bob)
    claim_from_round_file(ledger, path, accounts.carol.address, accounts.carol)
    holders_total = (100 + 50) * TOKEN * 3_000 // 10_000
    for who in (accounts.alice, accounts.bob, accounts.carol):
        stake = round_file.cumulative[who.address]
        exact = holders_total * stake // (1_000 * TOKEN)
        assert exact - 2 <= ledger.fees_of(model.model_id, who.address) <= exact


def test_owner_attestations_made_by_the_oracle_helpers_are_accepted_for_their_model_only(accounts) -> None:
    from openledger_chain.attribution import AttestedClaim, attestation_message
    from openledger_chain.oracle import owner_verifier, sign_owner_attestation

    attestation = sign_owner_attestation(accounts.owner, 3, "compute", accounts.alice.address, 120)

    def claim(model_id: int, units: int) -> AttestedClaim:
        return AttestedClaim("1", accounts.alice.address, "compute", units, attestation["signer"],
                             attestation["signature"], attestation_message(model_id, "compute", accounts.alice.address, units))

    assert owner_verifier(3, accounts.owner.address)(claim(3, 120))
    assert not owner_verifier(4, accounts.owner.address)(claim(4, 120))  # replayed on another model
    assert not owner_verifier(3, accounts.owner.address)(claim(3, 121))  # inflated units
    assert not owner_verifier(3, accounts.stranger.address)(claim(3, 120))  # not that model's owner


def test_submit_is_not_stopped_by_another_oracles_wrong_chunk_and_redoes_its_own(ledger, accounts, setup) -> None:
    """Each oracle publishes its own list: a wrong chunk from another oracle (a rogue one, or one that
    published another file) cannot stall the round, and a wrong chunk of our own is reset and redone."""
    model, workdir = setup
    path, round_file = _propose(ledger, model, workdir)
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    round_ = round_file.round
    signatures = [s for s in read_round_file(path).signatures]
    ledger.chain.transact(ledger.distributor.functions.submitRound(round_.as_tuple(), signatures), accounts.stranger)
    bogus = [(to_checksum_address("0x" + "ff" * 20), 1, 1)]  # after it no account is ascending
    for oracle in (accounts.oracles[2], accounts.oracles[0]):
        ledger.chain.transact(ledger.distributor.functions.publishScores(model.model_id, 1, bogus), oracle)
    result = submit_round_file(ledger, path, accounts.oracles[0], chunk=2)
    assert not result.submitted and result.published_entries == 3
    resets = ledger.events(ledger.distributor.address, ("ScoresReset",))
    assert [log.args["oracle"] for log in resets] == [accounts.oracles[0].address]  # our own list only
    pending = ledger.pending_round(model.model_id)
    assert pending.scores_publisher == accounts.oracles[0].address
    own = ledger.score_list(model.model_id, accounts.oracles[0].address)
    assert own.running_hash == round_.scores_hash and own.count == 3


def test_propose_needs_the_owners_commitment_of_exactly_this_evaluation_set(ledger, accounts, setup) -> None:
    model, workdir = setup
    args = dict(spec_path=workdir / "spec.json", eval_path=workdir / "eval.csv", rounds_dir=workdir / "rounds",
                data_dir=workdir)
    with pytest.raises(RoundError, match="no evaluation set committed for round 1.*round commit-eval"):
        propose_round(ledger, model.model_id, **args)
    ledger.commit_evaluation(accounts.owner, model.model_id, 1, keccak(b"another evaluation set"))
    with pytest.raises(InputError, match="committed 0x.* for round 1; use the committed evaluation set"):
        propose_round(ledger, model.model_id, **args)
    assert not (workdir / "rounds").exists()


def test_signing_checks_the_round_against_the_onchain_commitment(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, round_file = _propose(ledger, model, workdir)
    assert round_file.body["method"]["evalHash"] == "0x" + keccak((workdir / "eval.csv").read_bytes()).hex()
    assert round_file.body["method"]["evalCommittedAt"] == str(ledger.evaluation_commitment(model.model_id, 1)[1])
    # A round file proposed on another evaluation set (its method record edited and rehashed) is refused.
    doc = json.loads(path.read_text())
    doc["body"]["method"]["evalHash"] = "0x" + "11" * 32
    doc["body"]["methodHash"] = "0x" + canonical_hash(doc["body"]["method"]).hex()
    doc["roundFileHash"] = "0x" + canonical_hash(doc["body"]).hex()
    path.write_text(json.dumps(doc))
    with pytest.raises(RoundError, match="is not the one committed for round 1"):
        sign_round_file(ledger, path, accounts.oracles[0])


def test_revealed_sets_must_be_earlier_commitments_and_are_never_reused(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, _ = _propose(ledger, model, workdir)
    _sign_submit_finalize(ledger, accounts, path)
    ledger.reveal_evaluation(accounts.owner, model.model_id, 1, (workdir / "eval.csv").as_uri())
    # Round 2 reuses round 1's set: refused once round 1's set is passed as revealed.
    with pytest.raises(InputError, match="rows also in the revealed evaluation set"):
        _propose(ledger, model, workdir, revealed=[workdir / "eval.csv"])
    # A file that was never committed cannot pass as a revealed set.
    (workdir / "fake.csv").write_text((workdir / "eval.csv").read_text() + "\n")
    with pytest.raises(InputError, match="not the evaluation set committed for any earlier round"):
        _propose(ledger, model, workdir, revealed=[workdir / "fake.csv"])


SECRET = "7391.4142135"  # a value only the contributor and the committee may read


@pytest.mark.parametrize(("content", "reason"), [
    ("", "empty file (expected a header row)"),
    ("f0,f1\n1,2\n", "row 1, column 'diagnosis': missing label column"),
    ("not,a,csv\n\x00", "row 1, column 'diagnosis': missing label column"),
    (None, "row 2, column 'mean_radius': not a number"),
    ("secret", "row 1: unexpected column (not in the evaluation file)"),
])
def test_a_malformed_contribution_is_left_out_instead_of_blocking_the_round(ledger, accounts, setup, content,
                                                                            reason) -> None:
    model, workdir = setup
    header, row = (workdir / "alice.csv").read_text().splitlines()[:2]
    if content is None:  # a cell that is not a number, and holds a private value
        content = f"{header}\nx{SECRET},{row.split(',', 1)[1]}\n"
    elif content == "secret":  # a column the evaluation set does not have, named by a private value
        content = f"{header},c{SECRET}\n{row},1\n"
    bad = workdir / "bad.csv"
    bad.write_text(content)
    ledger.register_contribution(accounts.stranger, model.model_id, ContributionKind.DATA, keccak(bad.read_bytes()), "bad.csv")
    settle_registrations(ledger.chain)
    _, round_file = _propose(ledger, model, workdir)
    (entry,) = [i for i in round_file.body["inputs"] if i["uri"] == "bad.csv"]
    # The round file is public: it says where and what, never the local path or a value of the file.
    assert entry["excluded"] == f"malformed: {reason}"
    assert SECRET not in json.dumps(round_file.body) and str(workdir) not in json.dumps(round_file.body)
    assert accounts.stranger.address not in {s["account"] for s in round_file.body["scores"]}
    assert {s["account"] for s in round_file.body["scores"]} == {accounts.alice.address, accounts.bob.address, accounts.carol.address}


def test_a_malformed_evaluation_set_is_named_as_the_problem(ledger, accounts, setup) -> None:
    model, workdir = setup
    (workdir / "eval.csv").write_text("only,wrong\n1,2\n")
    with pytest.raises(InputError, match="eval.csv"):
        _propose(ledger, model, workdir)


def test_propose_never_overwrites_a_round_file_unless_asked(ledger, accounts, setup) -> None:
    model, workdir = setup
    path, _ = _propose(ledger, model, workdir)
    sign_round_file(ledger, path, accounts.oracles[0])
    signed = path.read_bytes()
    with pytest.raises(RoundError, match="already exists.*--overwrite"):
        _propose(ledger, model, workdir)
    assert path.read_bytes() == signed
    _propose(ledger, model, workdir, overwrite=True)
    assert read_round_file(path).signatures == ()


def test_emission_over_the_models_policy_is_refused_before_anyone_signs(ledger, accounts, setup) -> None:
    model, workdir = setup
    with pytest.raises(InputError, match=r"emission 1,000\.000000000000000001 is over model .* policy: at most "
                                         r"1,000\.000000 per round"):
        _propose(ledger, model, workdir, emission=1_000 * TOKEN + 1)
    assert not (workdir / "rounds").exists()


def test_calldata_is_web3s_own_encoding_and_reverts_decode_the_same(ledger, accounts, setup) -> None:
    """publishScores goes out as Calldata (eth-abi, once per chunk) instead of web3's per-argument
    normalizers: the bytes must be web3's own encoding of the call, addresses given as 20 bytes or
    as checksummed text, and a revert must decode as it does through web3."""
    from eth_utils import to_canonical_address

    from openledger_chain.chain import Calldata

    model, _ = setup
    entries = [(accounts.alice.address, -7, 10**20), (accounts.bob.address, 3, 0)]
    web3_encoded = ledger.distributor.functions.publishScores(model.model_id, 1, entries)._encode_transaction_data()
    for given in (entries, [(to_canonical_address(a), s, x) for a, s, x in entries]):
        calldata = Calldata.of(ledger.distributor, "publishScores", model.model_id, 1, given)
        assert calldata.to == ledger.distributor.address
        assert "0x" + calldata.data.hex() == web3_encoded
    with pytest.raises(ContractRevertError) as via_calldata:
        ledger.chain.estimate(calldata, accounts.stranger)
    with pytest.raises(ContractRevertError) as via_web3:
        ledger.chain.estimate(ledger.distributor.functions.publishScores(model.model_id, 1, entries), accounts.stranger)
    assert str(via_calldata.value) == str(via_web3.value) and "UnauthorizedPublisher" in str(via_calldata.value)

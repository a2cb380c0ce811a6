"""Emission tied to measured improvement (issue 23 item 4) end to end on the embedded chain: the spec's
policy, `propose` measuring U_before on this round's evaluation set, a round that improves nothing minting 0
and still going through submit, publish and finalize (N-4: it keeps the root), and `verify` and `sign`
catching a forged emission or utility."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from _ledger_setup import settle_registrations

from openledger_chain.attribution.emission import improvement_emission, recorded_utility
from openledger_chain.attribution.spec import EmissionPolicy, parse_spec
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import InputError
from openledger_chain.history import cumulative_tree
from openledger_chain.oracle import (
    EMISSION_BLOCK,
    RecomputeInputs,
    RoundError,
    finalize_round,
    propose_round,
    read_round_file,
    sign_round_file,
    submit_round_file,
)
from openledger_chain.rewards import allocate_quantized
from openledger_chain.rounds import ScoreEntry, canonical_hash, scores_hash
from openledger_chain.types import ContributionKind, ModelParams
from openledger_chain.verify import verify_round

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "attribution"
TOKEN = 10**18
RATE, CAP = 5_000 * TOKEN, 1_000 * TOKEN  # 5,000 STAKE per 1.0 of accuracy, at most 1,000 a round


def _improvement_spec(folder: Path, rate: int = RATE, cap: int = CAP) -> Path:
    spec = json.loads((EXAMPLE / "spec.json").read_text())
    spec["emission"] = {"policy": "improvement", "rate": str(rate), "cap": str(cap)}
    path = folder / "spec.json"
    path.write_text(json.dumps(spec, indent=2) + "\n")
    return path


def _model(ledger: OpenLedger, accounts, folder: Path, contributions: dict[str, Any], max_emission: int = 1_000_000 * TOKEN,
           **spec_kwargs: int):
    for name in ("eval.csv", "eval2.csv", *contributions):
        shutil.copyfile(EXAMPLE / name, folder / name)
    spec = _improvement_spec(folder, **spec_kwargs)
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, min(1_000 * TOKEN, max_emission),
        max_emission, "Stake", "STK"))  # the registry refuses a round's emission above the model's maximum
    for name, who in contributions.items():
        ledger.register_contribution(who, model.model_id, ContributionKind.DATA, keccak((folder / name).read_bytes()),
                                     name)
    return model


def _propose(ledger, accounts, model, folder: Path, round_id: int, eval_name: str, **kwargs):
    settle_registrations(ledger.chain)
    ledger.commit_evaluation(accounts.owner, model.model_id, round_id, keccak((folder / eval_name).read_bytes()))
    return propose_round(ledger, model.model_id, spec_path=folder / "spec.json", eval_path=folder / eval_name,
                         rounds_dir=folder / "rounds", data_dir=folder, overwrite=True, **kwargs)


def _recompute(folder: Path, eval_name: str) -> RecomputeInputs:
    return RecomputeInputs(folder / "spec.json", folder / eval_name, folder)


def _sign_submit_finalize(ledger, accounts, path: Path, recompute: RecomputeInputs | None) -> None:
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle, recompute)
    submit_round_file(ledger, path, accounts.oracles[0])
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + 3601)
    finalize_round(ledger, read_round_file(path).round.model_id, accounts.deployer)


@pytest.fixture
def two_rounds(ledger: OpenLedger, accounts, tmp_path: Path):
    """Round 1: alice's rows (and bob's jittered copy of them, credited to alice) improve on no data and mint.
    Round 2, on a fresh evaluation set, adds no data: it improves nothing."""
    model = _model(ledger, accounts, tmp_path, {"alice.csv": accounts.alice, "copycat.csv": accounts.bob})
    path1, round1 = _propose(ledger, accounts, model, tmp_path, 1, "eval.csv")
    _sign_submit_finalize(ledger, accounts, path1, _recompute(tmp_path, "eval.csv"))
    return model, tmp_path, path1, round1


def test_spec_emission_policy_parses_and_refuses_bad_values() -> None:
    assert parse_spec({"label": "y"}).emission == EmissionPolicy()  # absent = fixed = as before
    assert parse_spec({"label": "y", "emission": {"policy": "fixed"}}).emission == EmissionPolicy()
    spec = parse_spec({"label": "y", "emission": {"policy": "improvement", "rate": "10", "cap": "5"}})
    assert spec.emission == EmissionPolicy("improvement", 10, 5)
    assert spec.manifest()["emission"] == {"policy": "improvement", "rate": "10", "cap": "5"}
    assert "emission" not in parse_spec({"label": "y"}).manifest()
    for bad, message in [({"policy": "halving"}, "field 'emission' must be"),
                         ({"policy": "improvement", "rate": 10, "cap": "5"}, "emission.rate' must be a decimal string"),
                         ({"policy": "improvement", "rate": "10", "cap": "05"}, "emission.cap' must be a decimal"),
                         ({"policy": "improvement", "rate": "10", "cap": str(2**256)}, "emission.cap"),
                         ({"policy": "improvement", "rate": "10"}, "emission.cap"),
                         ({"policy": "improvement", "rate": "1", "cap": "1", "floor": "0"}, "emission.floor"),
                         ({"policy": "fixed", "rate": "1"}, "fixed policy takes no other field")]:
        with pytest.raises(InputError, match=message):
            parse_spec({"label": "y", "emission": bad})


def test_a_round_that_improves_nothing_mints_zero_end_to_end(ledger, accounts, two_rounds) -> None:
    model, folder, path1, round1 = two_rounds
    block1 = round1.body[EMISSION_BLOCK]
    # Round 1 measures against no data: U_before is the utility of no data.
    assert block1["beforeRound"] == "0" and "beforeRoundFileHash" not in block1
    assert block1["uNow"] == round1.body["utility"]["all"] and block1["uBefore"] == round1.body["utility"]["none"]
    assert int(block1["emission"]) == int(round1.body["emission"]) == CAP  # 5,000 x (U gain ~0.4+) is over the cap
    stake = ledger.stake_token(model.model_id)
    # Round 2, a fresh evaluation set, no new data: same rows, so U_now == U_before on that set.
    path2, round2 = _propose(ledger, accounts, model, folder, 2, "eval2.csv")
    block2 = round2.body[EMISSION_BLOCK]
    assert block2["uNow"] == block2["uBefore"] and block2["emission"] == round2.body["emission"] == "0"
    assert block2["beforeRound"] == "1" and block2["beforeRoundFileHash"] == "0x" + round1.round_file_hash.hex()
    # N-4: it keeps round 1's tree, and still records its scores and utilities.
    assert round2.body["merkleRoot"] == round1.body["merkleRoot"] and round2.cumulative == round1.cumulative
    assert all(s["amount"] == "0" for s in round2.body["scores"]) and any(s["score"] != "0" for s in round2.body["scores"])
    supply = stake.functions.totalSupply().call()
    _sign_submit_finalize(ledger, accounts, path2, _recompute(folder, "eval2.csv"))
    root, final_id, cumulative, _ = ledger.distributor.functions.finalizedRound(model.model_id).call()
    assert (final_id, cumulative) == (2, CAP) and "0x" + bytes(root).hex() == round1.body["merkleRoot"]
    assert stake.functions.totalSupply().call() == supply
    # Anyone checks the arithmetic; the committee recomputes both utilities.
    outsider = verify_round(ledger, round_file_path=path2)
    row = next(c for c in outsider.checks if c.name == "emission")
    assert row.ok is True and "not recomputed" in row.detail and outsider.ok
    member = verify_round(ledger, round_file_path=path2, attribution=_recompute(folder, "eval2.csv"))
    row = next(c for c in member.checks if c.name == "emission")
    assert row.ok is True and "both utilities recomputed: identical" in row.detail, row.detail
    assert member.ok, [c for c in member.checks if not c.ok]
    # Without round 1's file a committee member cannot value its inputs: the check is not run, and says why.
    path1.rename(path1.with_name("elsewhere.json"))
    member = verify_round(ledger, round_file_path=path2, attribution=_recompute(folder, "eval2.csv"))
    row = next(c for c in member.checks if c.name == "emission")
    assert row.ok is None and "U_before not recomputed" in row.detail and "round-1.json is not here" in row.detail


def _forge(path: Path, **block: str) -> Path:
    """What a dishonest proposer can do: change the emission block, then rebuild everything that follows from
    it (amounts split by the same scores, cumulative amounts, tree, hashes), so every file-only check of the
    scores, tree and hashes still holds. Writes `<name>.forged.json` beside the file."""
    data = json.loads(path.read_text())
    body = data["body"]
    body[EMISSION_BLOCK] |= block
    emission = int(body[EMISSION_BLOCK]["emission"])
    previous = int(body["cumulativeEmission"]) - int(body["emission"])
    old = {s["account"]: int(s["amount"]) for s in body["scores"]}
    amounts = allocate_quantized({s["account"]: max(int(s["score"]), 0) for s in body["scores"]}, emission)
    for s in body["scores"]:
        s["amount"] = str(amounts[s["account"]])
    cumulative = {c["account"]: int(c["amount"]) for c in body["cumulative"]}
    for account, amount in amounts.items():
        cumulative[account] = cumulative.get(account, 0) - old.get(account, 0) + amount
    tree = cumulative_tree(cumulative)
    body["cumulative"] = [{"account": a, "amount": str(v)} for a, v in sorted(cumulative.items(), key=lambda i: int(i[0], 16)) if v > 0]
    body["emission"], body["cumulativeEmission"] = str(emission), str(previous + emission)
    entries = [ScoreEntry(s["account"], int(s["score"]), int(s["amount"])) for s in body["scores"]]
    body["scoresHash"] = "0x" + scores_hash(entries).hex()
    body["merkleRoot"], body["tree"] = tree.root, tree.dump()
    data["roundFileHash"], data["signatures"] = "0x" + canonical_hash(body).hex(), []
    forged = path.with_name(path.stem + ".forged.json")
    forged.write_text(json.dumps(data))
    return forged


def test_a_forged_emission_fails_the_emission_check(ledger, accounts, two_rounds) -> None:
    """Attack: round 2 improves nothing, the proposer mints 500 anyway. Its file is self-consistent (scores,
    tree, hashes), so only the emission arithmetic can catch it: the outsider's check does."""
    model, folder, _, _ = two_rounds
    path2, _ = _propose(ledger, accounts, model, folder, 2, "eval2.csv")
    forged = _forge(path2, emission=str(500 * TOKEN))
    result = verify_round(ledger, round_file_path=forged)
    row = next(c for c in result.checks if c.name == "emission")
    assert row.ok is False and f"the block states {500 * TOKEN}" in row.detail
    assert next(c for c in result.checks if c.name == "cumulative").ok  # everything else about it holds
    # No oracle signs it, not even one that does not recompute.
    with pytest.raises(RoundError, match="emission: min"):
        sign_round_file(ledger, forged, accounts.oracles[0])


def test_a_forged_utility_fails_recomputation(ledger, accounts, two_rounds) -> None:
    """Attack: the proposer lowers U_before so the arithmetic mints 500 and holds; the file is consistent for an
    outsider (who is told the utilities were not recomputed), and the committee's recomputation refuses it."""
    model, folder, _, _ = two_rounds
    path2, round2 = _propose(ledger, accounts, model, folder, 2, "eval2.csv")
    u_now = round2.body[EMISSION_BLOCK]["uNow"]
    lowered = f"{float(u_now) - 0.1:.18f}"  # 0.1 x 5,000 = 500 STAKE (floored to whole steps)
    # A careful forger makes the arithmetic hold exactly.
    expected = improvement_emission(recorded_utility(u_now), recorded_utility(lowered), rate=RATE, cap=CAP)
    forged = _forge(path2, uBefore=lowered, emission=str(expected))
    block = json.loads(forged.read_text())["body"][EMISSION_BLOCK]
    assert int(block["emission"]) > 0
    outsider = verify_round(ledger, round_file_path=forged)
    assert next(c for c in outsider.checks if c.name == "emission").ok is True  # consistent on its face
    member = verify_round(ledger, round_file_path=forged, attribution=_recompute(folder, "eval2.csv"))
    row = next(c for c in member.checks if c.name == "emission")
    assert row.ok is False and "differs in emission, uBefore" in row.detail, row.detail
    assert {"what": "emission uBefore", "stated": lowered, "expected": u_now, "account": "(round)"} in member.differences
    shutil.copyfile(forged, path2)
    with pytest.raises(RoundError, match="recomputed emission block differs in emission, uBefore"):
        sign_round_file(ledger, path2, accounts.oracles[0], _recompute(folder, "eval2.csv"))


def test_emission_option_and_a_cap_above_the_onchain_policy_are_refused(ledger, accounts, tmp_path: Path) -> None:
    model = _model(ledger, accounts, tmp_path, {"alice.csv": accounts.alice})
    with pytest.raises(InputError, match="improvement emission policy: .* --emission cannot be given"):
        _propose(ledger, accounts, model, tmp_path, 1, "eval.csv", emission=TOKEN)
    over = tmp_path / "over"
    over.mkdir()
    model = _model(ledger, accounts, over, {"bob.csv": accounts.bob}, cap=1_000 * TOKEN + 1)
    with pytest.raises(InputError, match=r"emission cap 1,000\.000000000000000001 is above model .* per round"):
        _propose(ledger, accounts, model, over, 1, "eval.csv")
    assert not (over / "rounds").exists()


def test_a_first_round_that_improves_nothing_is_refused(ledger, accounts, tmp_path: Path) -> None:
    """mallory's flipped labels do worse than no data: 0 to mint, and a first round cannot keep a root it has
    not got (the distributor refuses an empty tree)."""
    model = _model(ledger, accounts, tmp_path, {"mallory.csv": accounts.carol})
    with pytest.raises(RoundError, match="first round improves nothing over no data"):
        _propose(ledger, accounts, model, tmp_path, 1, "eval.csv")


def test_u_before_needs_the_previous_final_round_file(ledger, accounts, two_rounds) -> None:
    model, folder, path1, _ = two_rounds
    data = json.loads(path1.read_text())
    path1.unlink()
    with pytest.raises(RoundError, match="round 1's file .* not found"):
        _propose(ledger, accounts, model, folder, 2, "eval2.csv")
    data["body"]["inputs"] = data["body"]["inputs"][:1]
    data["roundFileHash"] = "0x" + canonical_hash(data["body"]).hex()
    path1.write_text(json.dumps(data))
    with pytest.raises(RoundError, match="is not the file of model .* final round 1"):
        propose_round(ledger, model.model_id, spec_path=folder / "spec.json", eval_path=folder / "eval2.csv",
                      rounds_dir=folder / "rounds", data_dir=folder, overwrite=True)


def test_near_the_models_maximum_a_round_mints_what_is_left(ledger, accounts, tmp_path: Path) -> None:
    """A model that may mint 1,500 in all, at most 1,000 a round: round 1 mints the cap; round 2 (bob's new rows,
    a gain worth more than 500 at this rate) mints the 500 left instead of failing (a round must go through to
    decide bonds); the file records capLeft, and a file that claims more room than the chain leaves fails the
    emission check."""
    model = _model(ledger, accounts, tmp_path, {"alice.csv": accounts.alice}, max_emission=1_500 * TOKEN,
                   rate=1_000_000 * TOKEN)
    path1, round1 = _propose(ledger, accounts, model, tmp_path, 1, "eval.csv")
    assert round1.body[EMISSION_BLOCK]["capLeft"] == round1.body["emission"] == str(CAP)
    _sign_submit_finalize(ledger, accounts, path1, _recompute(tmp_path, "eval.csv"))
    shutil.copyfile(EXAMPLE / "bob.csv", tmp_path / "bob.csv")
    ledger.register_contribution(accounts.bob, model.model_id, ContributionKind.DATA,
                                 keccak((tmp_path / "bob.csv").read_bytes()), "bob.csv")
    path2, round2 = _propose(ledger, accounts, model, tmp_path, 2, "eval2.csv")
    block = round2.body[EMISSION_BLOCK]
    assert Decimal(block["uNow"]) > Decimal(block["uBefore"])
    assert (block["cap"], block["capLeft"], block["emission"]) == (str(CAP), str(500 * TOKEN), str(500 * TOKEN))
    result = verify_round(ledger, round_file_path=path2)
    assert next(c for c in result.checks if c.name == "emission").ok
    forged = _forge(path2, capLeft=str(CAP), emission=str(CAP))  # the arithmetic holds, the chain leaves only 500
    row = next(c for c in verify_round(ledger, round_file_path=forged).checks if c.name == "emission")
    assert row.ok is False and "is not min(cap, the model's maximum" in row.detail, row.detail

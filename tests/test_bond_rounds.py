"""Contribution bonds through the round pipeline (issue 23) on the embedded chain with `openledger deploy`'s vault:
`propose` decides the bonds of the round's contributions and signs their root, `verify` recomputes the decisions
(and, for anyone, checks the listed decisions against the root and the chain), the decisions are sent once the
round is final, contributors claim released bonds, and a forfeited bond is paid to the stake holders.

The attacks: a round file whose oracles forge a forfeiture (of an honest contributor's bond) fails verify; a file
whose decisions were edited after signing cannot be applied; applying twice changes nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_utils import keccak

from _ledger_setup import settle_registrations

from openledger_chain.attribution.bonds import bonds_root
from openledger_chain.bonds import apply_round_bonds, bond_standing, claim_bonds
from openledger_chain.chain import dev_accounts
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import ContractRevertError
from openledger_chain.oracle import (
    RoundError,
    finalize_round,
    propose_round,
    read_round_file,
    sign_round_file,
    submit_round_file,
    write_round_file,
    RoundFile,
)
from openledger_chain.oracle import RecomputeInputs
from openledger_chain.rounds import canonical_hash
from openledger_chain.types import ContributionKind, ModelParams
from openledger_chain.verify import verify_round

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "attribution"
OWNER = dev_accounts()[4]
TOKEN = 10**18
BOND = 5 * TOKEN
RAISE_DELAY = 257
JS_CHECK = Path(__file__).resolve().parent / "js" / "round_file_check.js"


@pytest.fixture
def bonded(ledger: OpenLedger, accounts, tmp_path: Path):
    """A model of the example data with a 5-token bond; alice and bob (honest) and mallory (flipped labels,
    dev account 9) each post one."""
    mallory = accounts.stranger
    for name in ("spec.json", "eval.csv", "alice.csv", "bob.csv", "mallory.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    spec = tmp_path / "spec.json"
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 1_000 * TOKEN,
        1_000_000 * TOKEN, "Stake", "STK"))
    ledger.set_bond_policy(accounts.owner, model.model_id, BOND)
    ledger.chain.w3.provider.ethereum_tester.mine_blocks(RAISE_DELAY)  # a bond from none is a raise: it waits
    token = ledger.erc20(ledger.dev_payment_token)
    people = {"alice.csv": accounts.alice, "bob.csv": accounts.bob, "mallory.csv": mallory}
    ids = {}
    for filename, who in people.items():
        ledger.chain.transact(token.functions.mint(who.address, 10 * TOKEN), who)
        assert ledger.approve_bond(who, model.model_id) == BOND
        ids[filename], _ = ledger.register_contribution(
            who, model.model_id, ContributionKind.DATA, keccak((tmp_path / filename).read_bytes()), filename)
    return model, tmp_path, ids, mallory


def _propose(ledger, model, workdir):
    settle_registrations(ledger.chain)
    round_id = ledger.distributor.functions.finalizedRound(model.model_id).call()[1] + 1
    if ledger.evaluation_commitment(model.model_id, round_id)[1] == 0:
        ledger.commit_evaluation(OWNER, model.model_id, round_id, keccak((workdir / "eval.csv").read_bytes()))
    return propose_round(ledger, model.model_id, spec_path=workdir / "spec.json", eval_path=workdir / "eval.csv",
                         rounds_dir=workdir / "rounds", data_dir=workdir)


def _sign_submit_finalize(ledger, accounts, path):
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    submit_round_file(ledger, path, accounts.oracles[0], chunk=10)
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + 3601)
    finalize_round(ledger, read_round_file(path).round.model_id, accounts.deployer)


def _resign(path: Path, body: dict) -> None:
    """Rewrite the file's body consistently (hash and all), as colluding oracles would before signing."""
    write_round_file(path, RoundFile(body, canonical_hash(body)))


def test_propose_decides_the_bonds_and_signs_their_root(ledger, accounts, bonded) -> None:
    model, workdir, ids, mallory = bonded
    path, round_file = _propose(ledger, model, workdir)
    decisions = {int(d["id"]): d for d in round_file.body["bonds"]["decisions"]}
    assert set(decisions) == set(ids.values())
    assert decisions[ids["alice.csv"]]["outcome"] == decisions[ids["bob.csv"]]["outcome"] == "released"
    assert decisions[ids["mallory.csv"]]["outcome"] == "forfeited"
    assert decisions[ids["mallory.csv"]]["reason"] == "harmful"
    assert decisions[ids["mallory.csv"]]["contributor"] == mallory.address
    assert all(d["amount"] == str(BOND) for d in decisions.values())
    root = bonds_root([(i, d["outcome"]) for i, d in decisions.items()])
    assert round_file.body["bondsRoot"] == root == "0x" + round_file.round.bonds_root.hex()


def test_an_independent_js_client_rebuilds_the_bonds_root_and_recovers_the_signers(ledger, accounts, bonded) -> None:
    """tests/js/round_file_check.js (ethers v6 + @openzeppelin/merkle-tree, nothing of this package) rebuilds the
    bonds tree from the listed decisions and recovers the oracles from a digest that includes the bondsRoot."""
    model, workdir, _, _ = bonded
    path, round_file = _propose(ledger, model, workdir)
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    checked = json.loads(subprocess.run(["node", str(JS_CHECK), str(path)], check=True, capture_output=True,
                                        text=True, cwd=JS_CHECK.parents[2]).stdout)
    assert checked["bondsRoot"] == checked["bondsRootRebuilt"] == round_file.body["bondsRoot"]
    assert int(checked["bondsRoot"], 16) != 0
    assert sorted(checked["signers"]) == sorted(o.address for o in accounts.oracles[:2])


def test_a_final_rounds_decisions_release_and_forfeit_and_apply_once(ledger, accounts, bonded) -> None:
    model, workdir, ids, mallory = bonded
    path, _ = _propose(ledger, model, workdir)
    stake = ledger.stake_token(model.model_id)
    token = ledger.erc20(ledger.dev_payment_token)
    with pytest.raises(RoundError, match="not final yet"):
        apply_round_bonds(ledger, path, accounts.payer)  # signed nowhere yet: nothing on chain
    _sign_submit_finalize(ledger, accounts, path)
    before = int(token.functions.balanceOf(stake.address).call())
    # The submitted round's bondsRoot is the file's (history reads BondsRootSubmitted): verify holds.
    assert verify_round(ledger, round_file_path=path).ok
    applied = apply_round_bonds(ledger, path, accounts.payer)  # anyone sends them
    assert sorted(applied.released) == sorted([ids["alice.csv"], ids["bob.csv"]])
    assert applied.forfeited == [ids["mallory.csv"]] and applied.skipped == []
    # The forfeited bond went to the stake token, credited to the holders as fees.
    assert int(token.functions.balanceOf(stake.address).call()) - before == BOND
    again = apply_round_bonds(ledger, path, accounts.payer)
    assert again.receipt is None and sorted(again.skipped) == sorted(ids.values())
    # alice claims hers back; mallory has nothing to claim.
    standing = bond_standing(ledger, accounts.alice.address, model.model_id)
    assert standing.released == BOND and standing.claimable == [ids["alice.csv"]]
    held = int(token.functions.balanceOf(accounts.alice.address).call())
    assert claim_bonds(ledger, accounts.alice, standing.claimable) == [(ids["alice.csv"], BOND)]
    assert int(token.functions.balanceOf(accounts.alice.address).call()) == held + BOND
    lost = bond_standing(ledger, mallory.address, model.model_id)
    assert lost.forfeited == BOND and lost.claimable == []
    with pytest.raises(ContractRevertError, match="ContributionBondsNotClaimable"):
        claim_bonds(ledger, mallory, [ids["mallory.csv"]])


def test_the_next_round_does_not_decide_bonds_an_earlier_round_decided(ledger, accounts, bonded) -> None:
    """Round 1's decisions are not applied yet: round 2 (same contributions) must not decide them again, or
    whichever was applied first would win."""
    model, workdir, ids, _ = bonded
    path, _ = _propose(ledger, model, workdir)
    _sign_submit_finalize(ledger, accounts, path)
    # Without round 1's file the proposer cannot know which bonds it decided: refused, with the way out.
    published = path.read_text()
    path.unlink()
    with pytest.raises(RoundError, match="round 1 of model .* decided bonds .* put the published round file there"):
        _propose(ledger, model, workdir)
    path.write_text(published)
    _, round2 = _propose(ledger, model, workdir)
    assert round2.body["bonds"]["decisions"] == [] and int(round2.body["bondsRoot"], 16) == 0


def test_verify_recomputes_the_decisions_and_a_forged_forfeiture_fails(ledger, accounts, bonded) -> None:
    model, workdir, ids, _ = bonded
    path, round_file = _propose(ledger, model, workdir)
    inputs = RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir)
    honest = verify_round(ledger, round_file_path=path, attribution=inputs)
    check = {c.name: c for c in honest.checks}
    assert check["bond decisions"].ok is True, check["bond decisions"].detail
    assert check["bonds root"].ok is True, check["bonds root"].detail
    # Colluding oracles forfeit alice's bond instead (root recomputed, file rehashed: it is self-consistent).
    body = json.loads(json.dumps(round_file.body))
    for d in body["bonds"]["decisions"]:
        if int(d["id"]) == ids["alice.csv"]:
            d["outcome"], d["reason"] = "forfeited", "harmful"
    body["bondsRoot"] = bonds_root([(int(d["id"]), d["outcome"]) for d in body["bonds"]["decisions"]])
    _resign(path, body)
    forged = verify_round(ledger, round_file_path=path, attribution=inputs)
    check = {c.name: c for c in forged.checks}
    assert check["bonds root"].ok is True  # an outsider's checks hold: the lie is in the data
    assert check["bond decisions"].ok is False and str(ids["alice.csv"]) in check["bond decisions"].detail
    assert not forged.ok


def test_verify_without_data_checks_root_and_amounts_against_the_chain(ledger, accounts, bonded) -> None:
    model, workdir, ids, _ = bonded
    path, round_file = _propose(ledger, model, workdir)
    outsider = {c.name: c for c in verify_round(ledger, round_file_path=path).checks}
    assert outsider["bonds root"].ok is True and outsider["bond decisions"].ok is None
    # A decision edited without its root, and an amount that is not the bond on chain.
    body = json.loads(json.dumps(round_file.body))
    body["bonds"]["decisions"][0]["outcome"] = "forfeited" if body["bonds"]["decisions"][0]["outcome"] == "released" \
        else "released"
    _resign(path, body)
    assert {c.name: c for c in verify_round(ledger, round_file_path=path).checks}["bonds root"].ok is False
    body = json.loads(json.dumps(round_file.body))
    body["bonds"]["decisions"][0]["amount"] = str(BOND - 1)
    _resign(path, body)
    check = {c.name: c for c in verify_round(ledger, round_file_path=path).checks}["bonds root"]
    assert check.ok is False and "amount" in check.detail


def test_edited_decisions_of_a_final_round_cannot_be_applied(ledger, accounts, bonded) -> None:
    model, workdir, ids, _ = bonded
    path, round_file = _propose(ledger, model, workdir)
    _sign_submit_finalize(ledger, accounts, path)
    data = json.loads(path.read_text())
    for d in data["body"]["bonds"]["decisions"]:
        d["outcome"] = "released"
    data["roundFileHash"] = "0x" + canonical_hash(data["body"]).hex()
    path.write_text(json.dumps(data))
    with pytest.raises(RoundError, match="do not hash to the round's bondsRoot"):
        apply_round_bonds(ledger, path, accounts.payer)


def test_a_model_without_a_bond_policy_decides_no_bond(ledger, accounts, tmp_path) -> None:
    for name in ("spec.json", "eval.csv", "alice.csv", "bob.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    spec = tmp_path / "spec.json"
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 1_000 * TOKEN,
        1_000_000 * TOKEN, "Stake", "STK"))
    for name, who in (("alice.csv", accounts.alice), ("bob.csv", accounts.bob)):
        assert ledger.approve_bond(who, model.model_id) == 0  # no approval, no token needed
        cid, _ = ledger.register_contribution(who, model.model_id, ContributionKind.DATA,
                                              keccak((tmp_path / name).read_bytes()), name)
        assert ledger.bond_of(cid).status == "none"
    _, round_file = _propose(ledger, model, tmp_path)
    assert round_file.body["bonds"]["decisions"] == [] and int(round_file.body["bondsRoot"], 16) == 0


def test_a_withdrawn_contribution_is_not_decided_and_its_bond_is_refunded_after_the_next_round(
        ledger, accounts, bonded) -> None:
    """Withdrawn before round 1: no round decides its bond (the vault keeps it forfeitable by round 1 only); once
    round 2 is final its contributor takes it back, and `bond_standing` lists it as claimable then, not before."""
    model, workdir, ids, mallory = bonded
    ledger.withdraw_contribution(mallory, ids["mallory.csv"])
    path1, round1 = _propose(ledger, model, workdir)
    assert str(ids["mallory.csv"]) not in {d["id"] for d in round1.body["bonds"]["decisions"]}
    _sign_submit_finalize(ledger, accounts, path1)
    assert bond_standing(ledger, mallory.address, model.model_id).claimable == []
    path2, _ = _propose(ledger, model, workdir)
    _sign_submit_finalize(ledger, accounts, path2)
    standing = bond_standing(ledger, mallory.address, model.model_id)
    assert standing.held == BOND and standing.claimable == [ids["mallory.csv"]]
    assert claim_bonds(ledger, mallory, standing.claimable) == [(ids["mallory.csv"], BOND)]
    assert ledger.bond_of(ids["mallory.csv"]).status == "paid"


def test_an_oracle_refuses_to_sign_a_forged_forfeiture(ledger, accounts, bonded) -> None:
    """The proposer forfeits alice's bond (root and hash made consistent): an oracle that recomputes refuses to
    sign it, naming the decision; one that does not recompute still refuses decisions that miss the root."""
    model, workdir, ids, _ = bonded
    path, round_file = _propose(ledger, model, workdir)
    body = json.loads(json.dumps(round_file.body))
    for d in body["bonds"]["decisions"]:
        if int(d["id"]) == ids["alice.csv"]:
            d["outcome"], d["reason"] = "forfeited", "harmful"
    _resign(path, body)  # decisions edited, bondsRoot not
    with pytest.raises(RoundError, match="hash to .* not to its bondsRoot"):
        sign_round_file(ledger, path, accounts.oracles[0])
    body["bondsRoot"] = bonds_root([(int(d["id"]), d["outcome"]) for d in body["bonds"]["decisions"]])
    _resign(path, body)
    inputs = RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir)
    with pytest.raises(RoundError, match=f"bond decision for contribution {ids['alice.csv']} is forfeited "
                                         r"\(harmful\), the forfeiture rule gives released; not signed"):
        sign_round_file(ledger, path, accounts.oracles[0], inputs)
    assert read_round_file(path).signatures == ()


def test_a_round_that_leaves_out_a_forfeiture_fails_verify_and_is_not_signed(ledger, accounts, bonded) -> None:
    """Attack: the proposer drops the flipper's forfeiture from the file (root and hash made consistent), so its
    bond stays held and comes back later. Every listed decision is right; the omission is the lie."""
    model, workdir, ids, _ = bonded
    path, round_file = _propose(ledger, model, workdir)
    body = json.loads(json.dumps(round_file.body))
    dropped = [d["id"] for d in body["bonds"]["decisions"] if d["outcome"] == "forfeited"]
    assert dropped, "the fixture's round forfeits a bond"
    body["bonds"]["decisions"] = [d for d in body["bonds"]["decisions"] if d["outcome"] != "forfeited"]
    body["bondsRoot"] = bonds_root([(int(d["id"]), d["outcome"]) for d in body["bonds"]["decisions"]])
    _resign(path, body)
    inputs = RecomputeInputs(workdir / "spec.json", workdir / "eval.csv", workdir)
    check = {c.name: c for c in verify_round(ledger, round_file_path=path, attribution=inputs).checks}
    assert check["bonds root"].ok is True
    assert check["bond decisions"].ok is False and "leaves out" in check["bond decisions"].detail
    assert all(cid in check["bond decisions"].detail for cid in dropped)
    with pytest.raises(RoundError, match=f"leaves out the bond decisions of contributions {dropped[0]}"):
        sign_round_file(ledger, path, accounts.oracles[0], inputs)
    assert read_round_file(path).signatures == ()

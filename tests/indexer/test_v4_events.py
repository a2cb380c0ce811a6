"""The h-v4 contracts' events in the index (schema version 5), from real transactions on the embedded chain: content
claims, relayed batch entries skipped as already registered, an evaluation commitment a new owner replaced, and
the bond vault's events (policy, posting, release, forfeit, claim, scheduled refund) read back as each bond of a
contributor with its status. The session deployment has no bond vault, so this indexes the bond tests' own
registry, distributor and vault (`bond_base`), found through the registry's `BondVaultSet`."""

from __future__ import annotations

import sys
from pathlib import Path

from eth_utils import keccak

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import deploy, event_args  # noqa: E402
from test_contribution_bonds import (  # noqa: E402, F401 - bond_base and s are fixtures
    BOND,
    DATA,
    FORFEIT,
    RELEASE,
    _apply,
    _content,
    _final_round,
    _fund,
    _register,
    bond_base,
    s,
)

from openledger_chain import views  # noqa: E402
from openledger_chain.contracts import OpenLedger  # noqa: E402
from openledger_chain.deployments import DeployedContract, Deployment, DeploymentConfig  # noqa: E402
from openledger_chain.indexer import open_database, reads  # noqa: E402
from openledger_chain.indexer.ingest import Indexer  # noqa: E402


def _ledger_of(s, accounts) -> OpenLedger:  # noqa: F811 - the fixture's value
    """An OpenLedger of the bond stack (a real timelock beside it: OpenLedger names one)."""
    timelock = deploy(s.chain, "AdminTimelock", accounts.deployer, 3600, [accounts.deployer.address],
                      [accounts.deployer.address])

    def entry(contract, name: str) -> DeployedContract:
        from openledger_chain.build import load_artifact

        return DeployedContract(contract.address, "0x" + "00" * 32, 1, "0x", "0x", load_artifact(name).abi)

    deployment = Deployment(
        s.chain.network, s.chain.chain_id, accounts.deployer.address, "now",
        DeploymentConfig((), 2, 3600, 600, accounts.deployer.address, timelock.address, 3600),
        {"AdminTimelock": entry(timelock, "AdminTimelock"), "ContributionRegistry": entry(s.registry, "ContributionRegistry"),
         "RewardDistributor": entry(s.distributor, "RewardDistributor")})
    return OpenLedger(s.chain, deployment)


def test_the_index_holds_the_settlement_batch_evaluation_and_bond_events(s, accounts, tmp_path):  # noqa: F811
    ledger = _ledger_of(s, accounts)
    alice, bob, carol = accounts.alice, accounts.bob, accounts.carol
    for who in (alice, bob, carol):
        _fund(s, who)
    good, junk, withdrawn = (_register(s, who, _content(tag)) for who, tag in
                             ((alice, "good"), (bob, "junk"), (carol, "withdrawn")))
    # A relayed batch replaying alice's registration: skipped by the registry (its signature is never checked).
    skip = s.chain.transact(s.registry.functions.registerContributionsFor(
        s.model_id, [(DATA, _content("good"), "ipfs://c", b"\x01" * 32, alice.address, 2**40, b"")]),
        accounts.stranger)
    assert event_args(s.registry, "BatchEntrySkipped", skip)
    # Round 1 releases alice's bond and forfeits bob's; alice takes hers back; carol withdraws (refund scheduled).
    built, tree = _final_round(s, 1, None, {good: RELEASE, junk: FORFEIT}, accounts)
    _apply(s, 1, tree, {good: RELEASE, junk: FORFEIT}, accounts.stranger)
    s.chain.transact(s.vault.functions.claimBond(good), alice)
    s.chain.transact(s.registry.functions.withdrawContribution(withdrawn), carol)
    # The owner commits round 2's set, sells the model, and the buyer replaces the commitment (issue 24, N-1).
    old_hash, new_hash = keccak(text="seller's set"), keccak(text="buyer's set")
    s.chain.transact(s.registry.functions.commitEvaluation(s.model_id, 2, old_hash), accounts.owner)
    s.chain.transact(s.registry.functions.transferModelOwnership(s.model_id, accounts.stranger.address), accounts.owner)
    s.chain.transact(s.registry.functions.acceptModelOwnership(s.model_id), accounts.stranger)
    replaced = s.chain.transact(s.registry.functions.commitEvaluation(s.model_id, 2, new_hash), accounts.stranger)
    assert event_args(s.registry, "EvaluationReplaced", replaced)

    engine = open_database(f"sqlite:///{tmp_path / 'index.db'}")
    indexer = Indexer(ledger, engine, batch_blocks=50)
    indexer.run()

    bonds = {b.contribution_id: b for b in reads.bonds_of(engine, model_id=s.model_id)}
    assert (bonds[good].status, bonds[good].decided_in, bonds[good].refund) == ("paid", 1, False)
    assert (bonds[junk].status, bonds[junk].decided_in) == ("forfeited", 1)
    assert (bonds[withdrawn].status, bonds[withdrawn].forfeitable_until) == ("held", 2)
    assert {b.amount for b in bonds.values()} == {BOND}
    assert [b.contribution_id for b in reads.bonds_of(engine, carol.address)] == [withdrawn]
    # The statuses are the vault's own (IContributionBonds.BondStatus: 1 held, 3 forfeited, 4 paid).
    names = {1: "held", 2: "released", 3: "forfeited", 4: "paid"}
    for cid, bond in bonds.items():
        assert names[s.vault.functions.bondOf(cid).call()[2]] == bond.status
    assert reads.bond_policy_history(engine, s.model_id)[0][0] == BOND

    assert reads.skipped_batch_entries(engine) == [
        {"model_id": s.model_id, "index": 0, "contributor": alice.address, "contribution_id": good,
         "tx_hash": "0x" + bytes(skip["transactionHash"]).hex(), "block_number": skip["blockNumber"]}]
    holder, committed_at = reads.content_claim(engine, "0x" + _content("good").hex())
    assert (holder, committed_at) == tuple(s.registry.functions.contentClaim(_content("good")).call())

    round_two = reads.evaluation_sets(engine, s.model_id)[2]
    assert round_two["eval_hash"] == "0x" + new_hash.hex()
    assert round_two["replaced"] == ["0x" + old_hash.hex()]
    assert bytes(s.registry.functions.evaluationCommitment(s.model_id, 2).call()[0]) == new_hash
    details = views.model_details(ledger, s.model_id)["evaluation_sets"]
    # Round 1's set was committed before its round (submitRound requires it); round 2's is the buyer's.
    assert [(e["round"], e["eval_hash"], e["replaced"]) for e in details if e["round"] == 2] == [
        (2, "0x" + new_hash.hex(), ["0x" + old_hash.hex()])]
    assert [e["round"] for e in details] == [1, 2]

    # Indexing again stores nothing twice.
    _, before = indexer.indexed()
    indexer.run()
    assert indexer.indexed()[1] == before

"""Stateful invariants of contribution bonds (issue 23): random histories of registrations (with a bond), withdrawals,
rounds deciding bonds (some vetoed), applications of their decisions (honest, repeated, forged, from any round) and
claims, on the embedded chain, against a Python model of every bond.

After every step:
- bonds held = posted - released - forfeited, to the unit (the model's books, and the vault's storage);
- the vault's payment-token balance = bonds held + bonds released and not yet claimed;
- no bond is decided twice: a bond's status only moves Held -> Released -> Paid, Held -> Forfeited or Held -> Paid
  (a withdrawn contribution's refund), and every call that would do otherwise reverts or is skipped;
- only final rounds decide: a decision of a pending or vetoed round reverts ContributionBondsRootNotFinal;
- forfeitures reach stake holders exactly: the stake token received every forfeited unit, and its one holder
  (alice, who claims all stake) can withdraw all of it but the accumulator's rounding (less than one unit in
  all for a sole holder; the unit stays in the token).

(Kept apart from test_invariants.py, whose deployment has no bond vault; folding bonds into that machine is
listed as remaining work.)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth_utils import keccak
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import deploy, event_args, model_params  # noqa: E402
from _round_helpers import BuiltRound, build_round, end_challenge_window, publish, sign  # noqa: E402

from openledger_chain.build import load_artifact  # noqa: E402
from openledger_chain.errors import ContractRevertError  # noqa: E402
from openledger_chain.merkle import StandardMerkleTree  # noqa: E402

BOND = 7 * 10**18 + 3  # odd, so a unit lost anywhere shows
WINDOW = 3600
NONE_, HELD, RELEASED, FORFEITED, PAID = 0, 1, 2, 3, 4
RELEASE, FORFEIT = 1, 2


@dataclass
class Env:
    chain: Any
    registry: Any
    distributor: Any
    vault: Any
    token: Any
    stake: Any
    model_id: int
    accounts: Any
    base: Any = None


@pytest.fixture(scope="module")
def bond_env(_deployed: Any, accounts: Any) -> Any:
    chain, _ = _deployed
    tester = chain.w3.provider.ethereum_tester
    before = tester.take_snapshot()
    try:
        deployer = accounts.deployer
        registry = deploy(chain, "ContributionRegistry", deployer, deployer.address)
        distributor = deploy(chain, "RewardDistributor", deployer, registry.address, accounts.stranger.address,
                             deployer.address, [o.address for o in accounts.oracles], 2, WINDOW, 600)
        chain.transact(registry.functions.setStakeMinter(distributor.address), deployer)
        vault = deploy(chain, "ContributionBonds", deployer, registry.address)
        chain.transact(registry.functions.setBondVault(vault.address), deployer)
        token = deploy(chain, "DevPaymentToken", deployer)
        receipt = chain.transact(registry.functions.registerModel(model_params(token.address)), accounts.owner)
        registered = event_args(registry, "ModelRegistered", receipt)[0]
        chain.transact(vault.functions.setBondPolicy(registered["modelId"], BOND), accounts.owner)
        tester.mine_blocks(257)
        for who in (accounts.alice, accounts.bob, accounts.carol):
            chain.transact(token.functions.mint(who.address, 1000 * BOND), who)
            chain.transact(token.functions.approve(vault.address, 2**256 - 1), who)
        stake = chain.w3.eth.contract(address=registered["stakeToken"], abi=load_artifact("ModelStakeToken").abi)
        env = Env(chain, registry, distributor, vault, token, stake, registered["modelId"], accounts)
        env.base = tester.take_snapshot()
        yield env
    finally:
        tester.revert_to_snapshot(before)


@dataclass
class BondRef:
    contributor: Any
    status: int = HELD
    until: int = 0  # forfeitableUntilRound


@dataclass
class RoundRef:
    built: BuiltRound
    tree: StandardMerkleTree | None
    decisions: dict[int, int] = field(default_factory=dict)


class BondMachine(RuleBasedStateMachine):
    def __init__(self, env: Env) -> None:
        super().__init__()
        env.chain.w3.provider.ethereum_tester.revert_to_snapshot(env.base)
        self.env = env
        self.a = env.accounts
        self.bonds: dict[int, BondRef] = {}
        self.posted = self.released = self.forfeited = self.claimed = 0  # totals, in payment-token units
        self.final: list[RoundRef] = []  # index i: round i + 1
        self.vetoed: list[RoundRef] = []
        self.pending: RoundRef | None = None
        self.previous: BuiltRound | None = None
        self.contents = 0
        self.submissions = 0

    # ----- helpers

    def tx(self, function: Any, sender: Any) -> Any:
        return self.env.chain.transact(function, sender)

    def expect_revert(self, function: Any, sender: Any, name: str) -> None:
        with pytest.raises(ContractRevertError) as info:
            self.tx(function, sender)
        assert info.value.name == name, f"expected {name}, got {info.value.name}{info.value.error_args}"

    def final_round_id(self) -> int:
        return len(self.final)

    def held_ids(self) -> list[int]:
        return [i for i, b in self.bonds.items() if b.status == HELD]

    # ----- rules

    @rule(who=st.sampled_from(("alice", "bob", "carol")))
    def register(self, who: str) -> None:
        sender = getattr(self.a, who)
        self.contents += 1
        content, salt = keccak(text=f"bond content {self.contents}"), b"\x02" * 32
        e = self.env
        commitment = e.registry.functions.contributionCommitment(e.model_id, sender.address, 0, content, salt).call()
        self.tx(e.registry.functions.commitContributions([commitment]), sender)
        receipt = self.tx(e.registry.functions.registerContribution(e.model_id, 0, content, "ipfs://b", salt), sender)
        cid = event_args(e.registry, "ContributionRegistered", receipt)[0]["contributionId"]
        assert event_args(e.vault, "BondPosted", receipt)[0]["amount"] == BOND
        self.bonds[cid] = BondRef(sender)
        self.posted += BOND

    @precondition(lambda self: self.bonds)
    @rule(data=st.data())
    def withdraw(self, data: Any) -> None:
        cid = data.draw(st.sampled_from(sorted(self.bonds)))
        ref = self.bonds[cid]
        if self.env.registry.functions.getContribution(cid).call()[3]:  # withdrawn already
            self.expect_revert(self.env.registry.functions.withdrawContribution(cid), ref.contributor,
                               "ContributionRegistryAlreadyWithdrawn")
            return
        self.tx(self.env.registry.functions.withdrawContribution(cid), ref.contributor)
        if ref.status == HELD:
            ref.until = self.final_round_id() + 1

    @precondition(lambda self: self.pending is None)
    @rule(data=st.data())
    def submit_round(self, data: Any) -> None:
        """A round allocating stake to alice, deciding some held bonds (possibly contrary to earlier rounds)."""
        candidates = sorted(self.bonds)
        chosen = data.draw(st.lists(st.sampled_from(candidates), unique=True, max_size=4)) if candidates else []
        decisions = {cid: data.draw(st.sampled_from((RELEASE, FORFEIT))) for cid in chosen}
        round_id = self.final_round_id() + 1
        # A new amount each submission: a resubmission identical to a vetoed round would be refused (RoundWasVetoed).
        self.submissions += 1
        built = build_round(self.env.model_id, round_id, {self.a.alice.address: 10**18 + self.submissions},
                            previous=self.previous)
        tree = StandardMerkleTree.of(sorted(decisions.items()), ["uint256", "uint8"]) if decisions else None
        if tree is not None:
            built = built.with_round(bonds_root=bytes.fromhex(tree.root[2:]))
        signatures = sign(built.round, self.a.oracles[:2], self.env.chain.chain_id, self.env.distributor.address)
        # submitRound requires the owner's evaluation commitment (issue 24); a vetoed round's id keeps its own.
        registry = self.env.registry.functions
        if registry.evaluationCommitment(self.env.model_id, round_id).call()[0] == b"\x00" * 32:
            self.tx(registry.commitEvaluation(self.env.model_id, round_id, keccak(text=f"eval {round_id}")), self.a.owner)
        self.tx(self.env.distributor.functions.submitRound(built.round.as_tuple(), signatures), self.a.deployer)
        publish(SimpleNamespace(chain=self.env.chain, distributor=self.env.distributor), built, self.a.oracles[0])
        self.pending = RoundRef(built, tree, decisions)

    @precondition(lambda self: self.pending is not None)
    @rule(veto=st.booleans())
    def end_round(self, veto: bool) -> None:
        e, pending = self.env, self.pending
        assert pending is not None
        if veto:
            self.tx(e.distributor.functions.vetoRound(e.model_id), self.a.deployer)
            self.vetoed.append(pending)
        else:
            end_challenge_window(SimpleNamespace(chain=e.chain, distributor=e.distributor), e.model_id)
            self.tx(e.distributor.functions.finalizeRound(e.model_id), self.a.deployer)
            self.final.append(pending)
            self.previous = pending.built
            # Alice claims every final round's stake at once: fees accrue to all stake final rounds allocated,
            # claimed or not, so only then are the forfeitures hers to the unit (hypothesis found a forfeiture while
            # round 2 was final and unclaimed when she claimed round 1 alone: half of it waited for her claim).
            account, amount, proof = pending.built.leaf(self.a.alice.address)
            self.tx(e.distributor.functions.claim(e.model_id, account, amount, proof), self.a.alice)
        self.pending = None

    def _apply_one(self, ref: RoundRef | None, round_id: int, cid: int, decision: int, proof_decision: int,
                   final: bool) -> None:
        e = self.env
        tree = ref.tree if ref else None
        proof = [bytes.fromhex(p[2:]) for p in tree.get_proof((cid, proof_decision))] if tree else []
        function = e.vault.functions.applyBondDecisions(e.model_id, round_id, [(cid, decision, proof)])
        bond = self.bonds[cid]
        if not final or tree is None:
            self.expect_revert(function, self.a.stranger, "ContributionBondsRootNotFinal")
            return
        if bond.status != HELD:
            receipt = self.tx(function, self.a.stranger)  # decided already: skipped, nothing moves
            assert not event_args(e.vault, "BondReleased", receipt) and not event_args(e.vault, "BondForfeited", receipt)
            return
        if proof_decision != decision:
            self.expect_revert(function, self.a.stranger, "ContributionBondsInvalidProof")
            return
        if decision == FORFEIT and bond.until and (round_id > bond.until or self.final_round_id() > bond.until):
            self.expect_revert(function, self.a.stranger, "ContributionBondsNotForfeitable")
            return
        self.tx(function, self.a.stranger)
        if decision == RELEASE:
            bond.status = RELEASED
            self.released += BOND
        else:
            bond.status = FORFEITED
            self.forfeited += BOND

    @precondition(lambda self: any(r.decisions for r in self.final + self.vetoed)
                  or (self.pending is not None and self.pending.decisions))
    @rule(data=st.data(), forge=st.booleans())
    def apply_decision(self, data: Any, forge: bool) -> None:
        sources = [("final", i + 1, r) for i, r in enumerate(self.final) if r.decisions]
        sources += [("vetoed", r.built.round.round_id, r) for r in self.vetoed if r.decisions]
        if self.pending is not None and self.pending.decisions:
            sources.append(("pending", self.pending.built.round.round_id, self.pending))
        kind, round_id, ref = data.draw(st.sampled_from(sources))
        cid = data.draw(st.sampled_from(sorted(ref.decisions)))
        real = ref.decisions[cid]
        decision = (3 - real) if forge else real  # a forged decision, carrying the real one's proof
        # A vetoed round's id may since have become final with another root: its root is then not the vetoed one.
        final = kind == "final"
        if kind == "vetoed" and round_id <= self.final_round_id():
            final_ref = self.final[round_id - 1]
            if final_ref.tree is None:
                self.expect_revert(self.env.vault.functions.applyBondDecisions(self.env.model_id, round_id, [
                    (cid, decision, [bytes.fromhex(p[2:]) for p in ref.tree.get_proof((cid, real))])]),
                    self.a.stranger, "ContributionBondsRootNotFinal")
                return
            # Against the final root, the vetoed round's proof only passes if the trees coincide for it.
            return
        self._apply_one(ref, round_id, cid, decision, real, final)

    @precondition(lambda self: self.bonds)
    @rule(data=st.data(), impostor=st.booleans())
    def claim(self, data: Any, impostor: bool) -> None:
        cid = data.draw(st.sampled_from(sorted(self.bonds)))
        bond, e = self.bonds[cid], self.env
        if impostor:
            self.expect_revert(e.vault.functions.claimBond(cid), self.a.stranger, "ContributionBondsNotContributor")
            return
        refundable = bond.status == HELD and bond.until and self.final_round_id() > bond.until
        if bond.status != RELEASED and not refundable:
            self.expect_revert(e.vault.functions.claimBond(cid), bond.contributor, "ContributionBondsNotClaimable")
            return
        before = int(e.token.functions.balanceOf(bond.contributor.address).call())
        self.tx(e.vault.functions.claimBond(cid), bond.contributor)
        assert int(e.token.functions.balanceOf(bond.contributor.address).call()) == before + BOND
        if refundable:
            self.released += BOND  # a withdrawn contribution's refund: released and paid at once
        self.claimed += BOND
        bond.status = PAID

    # ----- invariants

    @invariant()
    def bonds_held_are_posted_less_released_less_forfeited(self) -> None:
        """To the unit, in the model (whose statuses `storage_matches_the_model` checks against the vault)."""
        held = sum(BOND for b in self.bonds.values() if b.status == HELD)
        assert held == self.posted - self.released - self.forfeited
        e = self.env
        assert int(e.token.functions.balanceOf(e.vault.address).call()) == self.posted - self.forfeited - self.claimed

    @invariant()
    def storage_matches_the_model(self) -> None:
        for cid, ref in self.bonds.items():
            amount, until, status = self.env.vault.functions.bondOf(cid).call()
            assert (amount, status) == (BOND, ref.status), (cid, status, ref.status)
            assert until == ref.until, (cid, until, ref.until)

    @invariant()
    def forfeits_reach_the_stake_holders(self) -> None:
        e = self.env
        assert int(e.token.functions.balanceOf(e.stake.address).call()) == self.forfeited
        if self.forfeited:
            # Alice holds all stake; the fee accumulator rounds down against the holder (ModelStakeToken's notice),
            # which for a sole holder loses less than one unit in all: the unit stays in the token.
            fees = int(e.stake.functions.feesOf(self.a.alice.address).call())
            assert self.forfeited - 1 <= fees <= self.forfeited, (fees, self.forfeited)


def test_bond_invariants(bond_env: Env) -> None:
    """Random histories keep every bond invariant (a small budget: each step is a transaction or four)."""
    run_state_machine_as_test(lambda: BondMachine(bond_env),
                              settings=settings(max_examples=6, stateful_step_count=25, deadline=None,
                                                # no shrinking: each step is a transaction, and a failure prints its steps
                                                phases=[Phase.explicit, Phase.reuse, Phase.generate]))

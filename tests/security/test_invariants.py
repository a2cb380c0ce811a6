"""Stateful invariants of the whole ledger (issue 9, "Also deliver" item 1).

A hypothesis `RuleBasedStateMachine` drives random sequences of everything users can do to two models
that share one payment token (so a leak between models shows): contribution commitments and
registrations (in a later block), usage payments, direct payment-token gifts to a stake token, fee
accruals and withdrawals, stake transfers (to other accounts, to the sender itself, to the stake
token itself, to the other model's token, to the registry and the distributor), k-of-n rounds signed
with real eth-account signatures (some tampered with, some zero-emission, some vetoed by the
guardian), score publishing (some chunks corrupted, then reset), finalization after the challenge
window (time travel), claims and `claimMany` (some with stale or forged proofs) - each by a random
account, so accounts without the permission try too: their calls must revert and change nothing.

After every step (see the `invariant_*` methods):
- stake minted per model (its `totalSupply`) <= the finalized cumulative emission;
- every account's `claimed` <= its cumulative leaf in the latest finalized round it claimed under;
- the payment token held by a stake token covers everything it owes (fees of every holder, held
  fees, and what still-unclaimed stake will be credited); the surplus is only rounding dust;
- the balances of every possible holder add up to `totalSupply`;
- model owners' fees: credited = withdrawn + held, to the unit, and the registry holds exactly the sum held;
- the chain agrees with a Python reference model: per-model rounds (finalized and pending, with
  their published score lists and challenge windows), the owner's evaluation commitments (no round is
  pending without one), claims, stake balances, the fee accumulator
  and every holder's fees (`FeeModel` of tests/contracts/_helpers.py), payment-token balances;
- a step whose calls all reverted changed no contract's storage and no value observed.

Reaching deep states: an initializer starts most examples with a round finalized (or pending), some
stake claimed and fees paid; one rule runs the honest oracle pipeline (submit, publish, then
finalize, wait or veto); the rules that pay fees, move stake, claim, run rounds and register
contributions are twice as likely as the others; and "someone owed fees", "a stake holder", "a user
with stake to claim" stand for an actor that has something to withdraw, send or claim. Hand-made
contract mutants (fee settlement, recycling and accrual accounting, claim amounts, challenge-window
boundaries, permission checks, vetoed-round replay, duplicate content) make a default run fail.
Issue 24's remaining items (2026-12-07), ten mutants applied by hand to a copy, a default run each: 9
caught (a claim without its proof check, previous-root claims restored, no evaluation commitment
required, the commitment of the wrong round read, a zero-emission round changing the root, the owner
share pushed again, credited to the payer, a withdrawal that does not zero the balance, a withdrawal to
the registry itself); 1 survived: crediting the owner the amount sent instead of what arrived, the same
thing with this suite's plain payment token (tests/security/test_reentrancy.py's fee-on-transfer test
catches it).
`REPLAYED_SEQUENCES` (at the end) replays, rule by rule, sequences that random search seldom reaches
in a default run.

Speed: one embedded chain for the test run (the session chain of tests/conftest.py); the ledger is
deployed once (`deploy_invariant_ledger`) and every example starts from a snapshot of it. Views run
as messages on py-evm's state (no JSON-RPC round trip), and a group of views is read again only when
the storage of a contract it reads changed; transactions are sent with a fixed gas limit. A
transaction the machine expects to revert is mined anyway, so the check that it changed nothing
(no contract's storage root moved) is made on a real failed transaction. Examples and steps come
from the hypothesis profile (tests/conftest.py: the default one for `make test`, `pytest
--hypothesis-profile=long` for 15x the examples); `pytest -s` prints what the run did.

Robust to announced contract changes: a partial `withdrawFees` (pays what the token holds),
commit-priority registrations (an earlier commitment
displacing a later registration), and a rejected transfer of stake to the stake token itself are
each accepted as outcomes where they could happen; nothing else is.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from eth.vm.message import Message
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_canonical_address, to_checksum_address
from eth_utils.abi import collapse_if_tuple
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from web3.contract import Contract

from openledger_chain.chain import Chain, decode_revert
from openledger_chain.contracts import OpenLedger, contribution_commitment
from openledger_chain.deployments import deploy
from openledger_chain.merkle import process_proof, standard_leaf_hash
from openledger_chain.rounds import Round, ScoreEntry, round_digest, scores_hash
from openledger_chain.types import ContributionKind, ModelParams

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import FEE_PRECISION, MAX_BPS, ZERO_ADDRESS, FeeModel, fund  # noqa: E402
from _round_helpers import LEAF_ENCODING, BuiltRound, build_round, sign  # noqa: E402

# ----------------------------------------------------------------------------------------------------
# Accounts and models
# ----------------------------------------------------------------------------------------------------


def _key_account(name: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"openledger invariants: {name}"))


ORACLE_NAMES = ("oracle1", "oracle2", "oracle3")
OWNER_NAMES = ("owner_a", "owner_b")
USER_NAMES = ("alice", "bob", "carol", "dave")
ROLE_NAMES = ("admin", "guardian", *ORACLE_NAMES)
ACTOR_NAMES = (*USER_NAMES, *OWNER_NAMES, *ROLE_NAMES)  # everyone who sends transactions
ACCOUNTS: dict[str, LocalAccount] = {name: _key_account(name) for name in ACTOR_NAMES}
ADDRESSES: dict[str, str] = {name: account.address for name, account in ACCOUNTS.items()}
PAYER_NAMES = (*USER_NAMES, *OWNER_NAMES)  # hold payment tokens and approved the registry
PAYMENT_FUNDS = 10**45

THRESHOLD = 2
CHALLENGE_WINDOW = 3600
CONTENTS = (b"\x00" * 32, *(keccak(text=f"content {i}") for i in range(2)))  # index 0: the zero hash
TX_GAS = 10_000_000
MAX_ADDRESS = to_checksum_address("0x" + "ff" * 20)

# Where stake can end up: the users, plus contracts that cannot move it (the per-model entries
# "stake_self" and "stake_other" are resolved to that model's token and the other model's token).
STAKE_RECIPIENTS = (*USER_NAMES, "stake_self", "stake_other", "registry", "distributor", "zero")


@dataclass(frozen=True)
class ModelSpec:
    owner: str
    share_bps: int
    unit: int  # allocations are drawn in units: 10**18 (whole tokens) or 1 wei (rounding everywhere)
    per_round_units: int
    max_units: int

    @property
    def per_round(self) -> int:
        return self.per_round_units * self.unit

    @property
    def max_emission(self) -> int:
        return self.max_units * self.unit


# Model 0: whole-token stake, 30% of fees to holders, maximum reached after a few rounds.
# Model 1: wei-sized stake, all fees to holders: every fee division rounds, dust is at its largest.
MODEL_SPECS = (ModelSpec("owner_a", 3_000, 10**18, 1_000, 3_000), ModelSpec("owner_b", MAX_BPS, 1, 1_000, 5_000))


@dataclass(frozen=True)
class DeployedModel:
    model_id: int
    spec: ModelSpec
    stake: Contract


@dataclass(frozen=True)
class InvariantLedger:
    """What the state machine drives. Roles are read back from the chain, not assumed."""

    chain: Chain
    registry: Contract
    distributor: Contract
    payment: Contract
    models: tuple[DeployedModel, ...]
    oracles: tuple[str, ...]  # names, ascending by address
    guardians: frozenset[str]  # names of the actors holding GUARDIAN_ROLE
    pausers: frozenset[str]  # (the guardian counted in: it may become the one who pauses)
    admins: frozenset[str]


def deploy_invariant_ledger(chain: Chain) -> InvariantLedger:
    """Deploy registry, distributor and dev payment token, register the two models, fund the actors.

    The one place to adapt when the deploy API changes (timelock admin, a guardian distinct from the
    admin - already so here -, a minimum challenge window).
    """
    for account in ACCOUNTS.values():
        fund(chain, account.address, 10**21)
    oracles = sorted(ORACLE_NAMES, key=lambda name: int(ADDRESSES[name], 16))
    deployment = deploy(
        chain,
        ACCOUNTS["admin"],
        oracles=[ADDRESSES[name] for name in oracles],
        threshold=THRESHOLD,
        challenge_window=CHALLENGE_WINDOW,
        guardian=ADDRESSES["guardian"],
        dev_payment_token=True,
    )
    ledger = OpenLedger(chain, deployment)
    payment = ledger.erc20(ledger.dev_payment_token or "")
    models = []
    for index, spec in enumerate(MODEL_SPECS):
        params = ModelParams(
            spec_hash=keccak(text=f"invariants spec {index}"),
            spec_uri=f"ipfs://invariants-{index}",
            payment_token=payment.address,
            contributor_share_bps=spec.share_bps,
            emission_per_round=spec.per_round,
            max_emission=spec.max_emission,
            name=f"Invariant Model {index} Stake",
            symbol=f"INV{index}",
        )
        model, _ = ledger.register_model(ACCOUNTS[spec.owner], params)
        models.append(DeployedModel(model.model_id, spec, ledger.stake_token(model.model_id)))
    for name in PAYER_NAMES:
        chain.transact(payment.functions.mint(ADDRESSES[name], PAYMENT_FUNDS), ACCOUNTS[name])
        chain.transact(payment.functions.approve(ledger.registry.address, 2**256 - 1), ACCOUNTS[name])
    distributor = ledger.distributor

    def holders(role: str) -> frozenset[str]:
        """The actors holding the distributor's role named `role` (none if it has no such role)."""
        if not any(item.get("name") == role for item in distributor.abi):
            return frozenset()
        role_id = getattr(distributor.functions, role)().call()
        return frozenset(n for n in ACTOR_NAMES if distributor.functions.hasRole(role_id, ADDRESSES[n]).call())

    return InvariantLedger(
        chain=chain,
        registry=ledger.registry,
        distributor=distributor,
        payment=payment,
        models=tuple(models),
        oracles=tuple(oracles),
        guardians=holders("GUARDIAN_ROLE"),
        pausers=holders("PAUSER_ROLE") | holders("GUARDIAN_ROLE"),
        admins=holders("DEFAULT_ADMIN_ROLE"),
    )


# ----------------------------------------------------------------------------------------------------
# Fast access to the embedded chain
# ----------------------------------------------------------------------------------------------------


class Evm:
    """Views and transactions on the embedded chain without the JSON-RPC layers.

    A view (or the dry run of a transaction) is one message executed on py-evm's state of the pending
    block, the block the next transaction is mined in, so a dry run sees that block's timestamp. A
    transaction is signed and sent with a fixed gas limit (no estimate), and is mined even if it
    reverts. Calldata and output types are cached per call.
    """

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.tester = chain.w3.provider.ethereum_tester
        self.chain_id = chain.chain_id
        self._calldata: dict[tuple[Any, ...], bytes] = {}
        self._output_types: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
        self._nonces: dict[str, int] = {}

    def reset(self) -> None:
        """Forget cached nonces (a snapshot was restored)."""
        self._nonces.clear()

    # ----- views and dry runs

    def _data(self, contract: Contract, fn: str, args: tuple[Any, ...]) -> bytes:
        try:
            key = (contract.address, fn, args)
            data = self._calldata.get(key)
        except TypeError:  # lists in the arguments (proofs, score chunks, claims): not cached
            return bytes.fromhex(contract.encode_abi(fn, list(args))[2:])
        if data is None:
            data = bytes.fromhex(contract.encode_abi(fn, list(args))[2:])
            self._calldata[key] = data
        return data

    def state(self) -> Any:
        """A throwaway py-evm state of the pending block (its writes are never persisted)."""
        return self.tester.backend.chain.get_vm().state

    def run(
        self, state: Any, contract: Contract, fn: str, args: tuple[Any, ...], sender: str = ZERO_ADDRESS
    ) -> tuple[bool, bytes]:
        """Execute `contract.fn(*args)` from `sender` on `state`: (success, output or revert data)."""
        to = to_canonical_address(contract.address)
        origin = to_canonical_address(sender)
        message = Message(gas=TX_GAS, to=to, sender=origin, value=0, data=self._data(contract, fn, args),
                          code=state.get_code(to))
        context = state.get_transaction_context_class()(gas_price=0, origin=origin)
        computation = state.computation_class.apply_message(state, message, context)
        return not computation.is_error, bytes(computation.output)

    def view(self, state: Any, contract: Contract, fn: str, *args: Any) -> Any:
        """The decoded result of a view: a single value, or a dict for a struct or several outputs."""
        ok, output = self.run(state, contract, fn, args)
        assert ok, f"view {fn}{args} reverted: {decode_error(output)}"
        types, names = self._outputs(contract, fn)
        values = tuple(_checksummed(v) for v in abi_decode(types, output))
        if len(values) == 1 and not names[0].startswith("("):
            return values[0]
        if len(values) == 1:  # one struct: name its fields
            return dict(zip(names[0][1:-1].split(","), map(_checksummed, values[0]), strict=True))
        return dict(zip(names, values, strict=True))

    def _outputs(self, contract: Contract, fn: str) -> tuple[list[str], list[str]]:
        key = (contract.address, fn)
        if key not in self._output_types:
            (abi,) = [item for item in contract.abi if item.get("type") == "function" and item["name"] == fn]
            types = [collapse_if_tuple(o) for o in abi["outputs"]]
            names = [
                "(" + ",".join(c["name"] for c in o["components"]) + ")" if o["type"] == "tuple" else o["name"]
                for o in abi["outputs"]
            ]
            self._output_types[key] = (types, names)
        return self._output_types[key]

    def storage_root(self, state: Any, address: str) -> bytes | None:
        """The root of the storage trie of `address`: equal roots, equal storage. It comes from py-evm's
        internals; None if they moved (then the machine re-reads every view)."""
        try:
            return bytes(state._account_db._get_storage_root(to_canonical_address(address)))
        except AttributeError:
            return None

    # ----- transactions

    def pending_timestamp(self) -> int:
        return int(self.tester.get_block_by_number("pending")["timestamp"])

    def pending_number(self) -> int:
        return int(self.tester.get_block_by_number("pending")["number"])

    def time_travel(self, timestamp: int) -> None:
        self.tester.time_travel(timestamp)

    def send(self, contract: Contract, fn: str, args: tuple[Any, ...], sender: LocalAccount) -> bool:
        """Mine `contract.fn(*args)` from `sender`; True if it succeeded."""
        nonce = self._nonces.get(sender.address)
        if nonce is None:
            nonce = int(self.chain.w3.eth.get_transaction_count(sender.address, "pending"))
        tx = {
            "type": 2, "chainId": self.chain_id, "nonce": nonce, "to": contract.address, "value": 0,
            "data": self._data(contract, fn, args), "gas": TX_GAS,
            "maxFeePerGas": 20 * 10**9, "maxPriorityFeePerGas": 10**9,
        }
        raw = sender.sign_transaction(tx).raw_transaction
        tx_hash = self.tester.send_raw_transaction("0x" + bytes(raw).hex())
        self._nonces[sender.address] = nonce + 1
        # py-evm's own receipt: eth-tester's serialized one costs a third of the transaction's time.
        receipt = self.tester.backend.chain.get_transaction_receipt(bytes.fromhex(tx_hash[2:]))
        return receipt.state_root == b"\x01"  # the status of a post-Byzantium receipt


def _checksummed(value: Any) -> Any:
    """eth-abi decodes addresses in lower case; the toolkit and the reference use checksummed ones."""
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return to_checksum_address(value)
    return value



def decode_error(output: bytes) -> tuple[str, tuple[Any, ...]]:
    """`(custom error name, args)` of revert data, decoded like the toolkit decodes reverts."""
    error = decode_revert(SimpleNamespace(data="0x" + output.hex(), args=()))  # type: ignore[arg-type]
    return getattr(error, "name", str(error)), tuple(getattr(error, "error_args", ()))


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str = ""
    error_args: tuple[Any, ...] = ()
    timestamp: int = 0  # of the block it was mined in
    block: int = 0


# ----------------------------------------------------------------------------------------------------
# Reference model
# ----------------------------------------------------------------------------------------------------


@dataclass
class PendingRef:
    """A submitted round as the distributor should hold it."""

    built: BuiltRound
    signatures: list[bytes]
    digest: bytes
    ends_at: int
    submitter: str
    #: Each oracle's own score list (oracle name -> entries); the first that matches completes the round.
    lists: dict[str, list[ScoreEntry]] = field(default_factory=dict)
    completed_by: str | None = None

    @property
    def complete(self) -> bool:
        return self.completed_by is not None

    def matches(self, entries: list[ScoreEntry]) -> bool:
        round_ = self.built.round
        return scores_hash(entries) == round_.scores_hash and sum(e.amount for e in entries) == round_.emission


@dataclass
class ModelRef:
    """One model's expected state: rounds, claims and the fee accounting of its stake token."""

    index: int
    deployed: DeployedModel
    fees: FeeModel = field(default_factory=FeeModel)
    finalized: list[BuiltRound] = field(default_factory=list)  # every finalized round, oldest first
    pending: PendingRef | None = None
    vetoed: list[tuple[BuiltRound, list[bytes]]] = field(default_factory=list)
    vetoed_digests: set[bytes] = field(default_factory=set)
    claimed: dict[str, int] = field(default_factory=dict)
    claimed_under: dict[str, int] = field(default_factory=dict)  # leaf of the round each claim used
    pending_gifts: int = 0  # payment tokens sent straight to the stake token, not accrued yet
    finalizations: int = 0
    evaluations: set[int] = field(default_factory=set)  # round ids the owner committed an evaluation set for

    @property
    def model_id(self) -> int:
        return self.deployed.model_id

    @property
    def latest(self) -> BuiltRound | None:
        return self.finalized[-1] if self.finalized else None

    @property
    def cumulative_emission(self) -> int:
        return self.latest.round.cumulative_emission if self.latest else 0

    @property
    def next_round_id(self) -> int:
        return self.latest.round.round_id + 1 if self.latest else 1

    def holders(self) -> list[str]:
        """Addresses with stake or fees (the model also knows zero-balance senders of empty transfers)."""
        return [a for a, b in self.fees.balances.items() if b or self.fees.fees_of(a)]


@dataclass(frozen=True)
class CommitmentRef:
    model: int
    contributor: str  # actor name
    kind: int
    content: int  # index into CONTENTS
    salt: int

    def __repr__(self) -> str:
        return (f"Commitment(model={self.model}, contributor={self.contributor!r}, content={self.content}, "
                f"salt={self.salt})")


@dataclass
class ContributionRef:
    contribution_id: int
    model: int
    contributor: str
    content: int
    commit_block: int
    withdrawn: bool = False


def _verifies(root: bytes, account: str, amount: int, proof: list[bytes]) -> bool:
    leaf = standard_leaf_hash(LEAF_ENCODING, (account, amount))
    return bytes.fromhex(process_proof(leaf, proof)[2:]) == root


# ----------------------------------------------------------------------------------------------------
# The state machine
# ----------------------------------------------------------------------------------------------------

# What the runs did, printed at the end of the test (`pytest -s`): examples, steps, and per function
# how many calls succeeded and reverted, to see that rounds finalize, claims succeed, and so on.
RUN_STATS: dict[str, Any] = {"examples": 0, "steps": 0, "calls": {}, "events": {}}


def _count(event: str) -> None:
    RUN_STATS["events"][event] = RUN_STATS["events"].get(event, 0) + 1


models = st.sampled_from(range(len(MODEL_SPECS)))
# Payment and gift amounts: dust, ordinary ones, and large ones up to the limit the stake token used
# to document ("Payments up to ~1e41 base units fit without overflow", at `FEE_PRECISION`).
fee_amounts = st.one_of(st.integers(0, 12), st.integers(1, 10**22), st.integers(10**40, 10**41))
actors = st.sampled_from(ACTOR_NAMES)
users = st.sampled_from(USER_NAMES)

# Units each user is allocated by a round: sometimes none at all (zero-emission rounds).
allocation_units = st.tuples(*[st.integers(0, 250)] * 4, st.integers(0, 4)).map(
    lambda units: (0, 0, 0, 0) if units[-1] == 0 else units[:-1])

SIGNINGS = {
    # name: (oracle positions in ascending order, how the signatures are ordered)
    "first_two": ((0, 1), "ascending"),
    "last_two": ((1, 2), "ascending"),
    "outer_two": ((0, 2), "ascending"),
    "all_three": ((0, 1, 2), "ascending"),
    "one_only": ((0,), "ascending"),
    "with_stranger": ((0, 1), "stranger"),
    "descending": ((0, 1), "descending"),
    "duplicate": ((0, 0), "as_given"),
}
VALID_SIGNINGS = ("first_two", "last_two", "outer_two", "all_three")
signings = st.sampled_from((*VALID_SIGNINGS, *SIGNINGS))  # valid signer sets twice as likely
TAMPERS = ("none",) * 6 + ("round_id", "cumulative", "over_per_round", "resubmit_vetoed")
rarely = st.sampled_from((False, False, False, True))
mostly = st.sampled_from((True, True, True, False))
# Callers of permissioned functions: the permitted role about half of the time, anyone otherwise.
oracles_or_anyone = st.one_of(st.sampled_from(ORACLE_NAMES), actors)
guardian_or_anyone = st.one_of(st.just("guardian"), actors)
payers_or_anyone = st.one_of(st.sampled_from(PAYER_NAMES), actors)
# Stand-ins resolved when the step runs (see `LedgerMachine._resolve`), so that half of the fee
# withdrawals, stake transfers and claims are made by someone who has something to withdraw, send or claim.
OWED, HOLDER, CLAIMANT = "someone owed fees", "a stake holder", "a user with stake to claim"
owed_or_anyone = st.one_of(st.just(OWED), actors)
holder_or_anyone = st.one_of(st.just(HOLDER), actors)
claimant_or_user = st.one_of(st.just(CLAIMANT), users)


class LedgerMachine(RuleBasedStateMachine):
    """Random users against the deployed ledger; see the module docstring."""

    commitments = Bundle("commitments")
    contributions = Bundle("contributions")

    def __init__(self, env: InvariantLedger, evm: Evm, base_snapshot: Any, payments: dict[str, int]) -> None:
        super().__init__()
        env.chain.w3.provider.ethereum_tester.revert_to_snapshot(base_snapshot)
        evm.reset()
        self.env = env
        self.evm = evm
        self.refs = [ModelRef(i, m) for i, m in enumerate(env.models)]
        self.addresses: dict[str, str] = dict(ADDRESSES)
        self.addresses |= {"registry": env.registry.address, "distributor": env.distributor.address}
        for i, m in enumerate(env.models):
            self.addresses[f"stake_{i}"] = m.stake.address
        self.payments = dict(payments)  # expected payment-token balance per tracked name
        self.commit_blocks: dict[bytes, int] = {}
        # Owner fees in the payment token (the two models share it): balance per actor, totals credited and paid.
        self.owner_fees: dict[str, int] = {}
        self.owner_credited = 0
        self.owner_withdrawn = 0
        self.contribution_refs: dict[int, ContributionRef] = {}
        self.content_holder: dict[tuple[int, int], int] = {}  # (model, content) -> contribution id
        # content -> (contributor, block of its earliest commitment): who holds it in every model (issue 24, N-3)
        self.content_claims: dict[int, tuple[str, int]] = {}
        self.contribution_count = 0
        self._step = 0
        self._observed_step = -1
        self._observation: dict[Any, Any] = {}
        self._previous_observation: dict[Any, Any] = {}
        # Since the last observation: were transactions sent, and did any succeed? A step that sent
        # some and saw all of them revert must have changed nothing.
        self._sent, self._succeeded, self._only_reverts = False, False, False
        self._contracts = {"registry": env.registry.address, "distributor": env.distributor.address,
                           "payment": env.payment.address,
                           **{f"stake_{i}": m.stake.address for i, m in enumerate(env.models)}}
        self._roots: dict[str, bytes | None] = {}
        self._previous_roots: dict[str, bytes | None] = {}
        self._view_cache: dict[str, tuple[tuple[Any, ...], dict[Any, Any]]] = {}
        RUN_STATS["examples"] += 1

    # ----- helpers

    def _name_of(self, address: str) -> str:
        for name, known in self.addresses.items():
            if known == address:
                return name
        return address

    def _recipient(self, model: int, name: str) -> str:
        if name == "stake_self":
            return self.addresses[f"stake_{model}"]
        if name == "stake_other":
            return self.addresses[f"stake_{1 - model}"]
        if name == "zero":
            return ZERO_ADDRESS
        return self.addresses[name]

    def _resolve(self, ref: ModelRef, who: str) -> str:
        """An actor's name, or for a stand-in one of the actors it describes (rotating with the step
        number; "alice" if there is none)."""
        if who == OWED:
            candidates = [n for n in ACTOR_NAMES if ref.fees.fees_of(ADDRESSES[n])]
        elif who == HOLDER:
            candidates = [n for n in ACTOR_NAMES if ref.fees.balances.get(ADDRESSES[n])]
        elif who == CLAIMANT:
            leaves = ref.latest.leaves if ref.latest else {}
            candidates = [n for n in USER_NAMES if leaves.get(ADDRESSES[n], 0) > ref.claimed.get(ADDRESSES[n], 0)]
        else:
            return who
        return candidates[self._step % len(candidates)] if candidates else "alice"

    def _execute(self, contract: Contract, fn: str, args: tuple[Any, ...], sender: str) -> Outcome:
        """Dry-run, then mine, `contract.fn(*args)` from actor `sender`; both must agree."""
        self._step += 1
        account = ACCOUNTS[sender]
        timestamp, number = self.evm.pending_timestamp(), self.evm.pending_number()
        ok, output = self.evm.run(self.evm.state(), contract, fn, args, account.address)
        mined = self.evm.send(contract, fn, args, account)
        assert mined == ok, f"{fn}{args} from {sender}: the dry run and the mined transaction disagree"
        self._sent = True
        self._succeeded |= ok
        RUN_STATS["steps"] += 1
        counts = RUN_STATS["calls"].setdefault(fn, [0, 0])
        counts[0 if ok else 1] += 1
        if ok:
            return Outcome(True, timestamp=timestamp, block=number)
        name, error_args = decode_error(output)
        _count(f"revert {name}")
        return Outcome(False, name, error_args, timestamp, number)

    def _expect(self, outcome: Outcome, errors: set[str], what: str) -> None:
        """`errors` empty: `outcome` must be a success; otherwise a revert with one of `errors`."""
        if not errors:
            assert outcome.ok, f"{what}: expected success, reverted with {outcome.error}{outcome.error_args}"
        else:
            assert not outcome.ok, f"{what}: expected a revert with one of {sorted(errors)}, but it succeeded"
            assert outcome.error in errors, (
                f"{what}: reverted with {outcome.error}{outcome.error_args}, expected one of {sorted(errors)}"
            )

    def _read(self, contract: Contract, fn: str, *args: Any) -> Any:
        return self.evm.view(self.evm.state(), contract, fn, *args)

    def _stake_name(self, model: int) -> str:
        return f"stake_{model}"

    def _mint(self, ref: ModelRef, account: str, cumulative: int) -> None:
        """Record a successful claim of `account` up to `cumulative`."""
        _count("stake minted by a claim")
        ref.fees.mint(account, cumulative - ref.claimed.get(account, 0))
        ref.claimed[account] = cumulative
        ref.claimed_under[account] = cumulative

    # ----- contributions

    @rule(target=commitments, model=models, contributor=actors, kind=st.integers(0, 4),
          content=st.integers(0, len(CONTENTS) - 1), salt=st.integers(0, 1), poster=actors)
    def commit_contribution(
        self, model: int, contributor: str, kind: int, content: int, salt: int, poster: str
    ) -> CommitmentRef:
        """Anyone posts a commitment; it binds its contributor. Re-posting one keeps its first block."""
        commitment = self._commitment(model, contributor, kind, content, salt)
        outcome = self._execute(self.env.registry, "commitContributions", ([commitment],), poster)
        self._expect(outcome, set(), "commitContributions")
        self.commit_blocks.setdefault(commitment, outcome.block)
        assert self._read(self.env.registry, "commitmentBlock", commitment) == self.commit_blocks[commitment]
        return CommitmentRef(model, contributor, kind, content, salt)

    def _commitment(self, model: int, contributor: str, kind: int, content: int, salt: int) -> bytes:
        return contribution_commitment(self.evm.chain_id, self.env.registry.address, self.refs[model].model_id,
                                       ADDRESSES[contributor], ContributionKind(kind), CONTENTS[content],
                                       salt.to_bytes(32, "big"))

    @rule(target=contributions, commitment=commitments, impostor=st.one_of(st.none(), st.none(), actors))
    def register_contribution(self, commitment: CommitmentRef, impostor: str | None) -> Any:
        """The contributor (or an impostor, whose own commitment this is not) reveals a commitment."""
        sender = impostor or commitment.contributor
        model_id = self.refs[commitment.model].model_id
        content_hash = CONTENTS[commitment.content]
        mine = self._commitment(commitment.model, sender, commitment.kind, commitment.content, commitment.salt)
        committed_at = self.commit_blocks.get(mine, 0)
        pending_block = self.evm.pending_number()
        holder = self.content_holder.get((commitment.model, commitment.content))
        errors: set[str] = set()
        if content_hash == CONTENTS[0]:
            errors.add("ContributionRegistryZeroContentHash")
        if committed_at == 0 or committed_at >= pending_block:
            errors.add("ContributionRegistryNotCommitted")
        # The earliest commitment to a content, in any model, keeps it in every model (issue 24, N-3): its
        # holder's registrations count from that commitment, anyone else needs a strictly older one.
        claim = self.content_claims.get(commitment.content)
        priority = committed_at
        if claim is not None and claim[0] == sender:
            priority = min(priority, claim[1])
        elif claim is not None and claim[1] <= committed_at and not errors:
            errors.add("ContributionRegistryContentClaimed")
        may_displace = False
        if holder is not None:
            # An earlier commitment displaces a later one's registration while that one is unsettled
            # (its commitment at most 256 blocks old): allowed, never the other way round.
            held_since = self.contribution_refs[holder].commit_block
            may_displace = not errors and priority < held_since and pending_block <= held_since + 256
            errors.add("ContributionRegistryDuplicateContent")
        args = (model_id, commitment.kind, content_hash, "ipfs://c", commitment.salt.to_bytes(32, "big"))
        outcome = self._execute(self.env.registry, "registerContribution", args, sender)
        if may_displace and outcome.ok:
            errors = set()
        self._expect(outcome, errors, f"registerContribution by {sender}")
        if not outcome.ok:
            return multiple()
        _count("contribution registered")
        self.contribution_count += 1
        contribution_id = self.contribution_count
        del self.commit_blocks[mine]  # a commitment is spent by its registration
        held = self._read(self.env.registry, "contributionByContent", model_id, content_hash)
        assert held == contribution_id, f"content {commitment.content} held by #{held}, not #{contribution_id}"
        recorded = self._read(self.env.registry, "getContribution", contribution_id)
        assert (recorded["contributor"], recorded["modelId"]) == (ADDRESSES[sender], model_id)
        self.content_holder[(commitment.model, commitment.content)] = contribution_id
        if claim is None or priority < claim[1]:
            self.content_claims[commitment.content] = (sender, priority)
        expected_claim = self.content_claims[commitment.content]
        actual_claim = self._read(self.env.registry, "contentClaim", content_hash)
        assert (actual_claim["holder"], actual_claim["committedAt"]) == (ADDRESSES[expected_claim[0]], expected_claim[1])
        self.contribution_refs[contribution_id] = ContributionRef(
            contribution_id, commitment.model, sender, commitment.content, priority
        )
        return contribution_id

    @rule(contribution=contributions, sender=actors)
    def withdraw_contribution(self, contribution: int, sender: str) -> None:
        ref = self.contribution_refs[contribution]
        errors = set()
        if sender != ref.contributor:
            errors.add("ContributionRegistryNotContributor")
        if ref.withdrawn:
            errors.add("ContributionRegistryAlreadyWithdrawn")
        outcome = self._execute(self.env.registry, "withdrawContribution", (contribution,), sender)
        self._expect(outcome, errors, f"withdrawContribution({contribution}) by {sender}")
        if outcome.ok:
            ref.withdrawn = True
        assert self._read(self.env.registry, "getContribution", contribution)["withdrawn"] == ref.withdrawn

    # ----- usage fees

    @rule(model=models, payer=payers_or_anyone, amount=fee_amounts,
          how=st.sampled_from(("pay_usage", "pay_usage", "gift", "accrue")))
    def pay_fees(self, model: int, payer: str, amount: int, how: str) -> None:
        """A usage payment; or a plain payment-token transfer (gift) to the stake token, credited at the
        next accrual; or that accrual, which anyone may trigger (`amount` unused)."""
        if how == "pay_usage":
            self._pay_usage(model, payer, amount)
        elif how == "gift":
            self._gift(model, payer, amount)
        else:
            self._accrue(model, payer)

    def _pay_usage(self, model: int, payer: str, amount: int) -> None:
        ref = self.refs[model]
        errors = set()
        if amount == 0:
            errors.add("ContributionRegistryZeroPayment")
        if payer not in PAYER_NAMES:
            errors |= {"ERC20InsufficientAllowance", "ERC20InsufficientBalance"}
        outcome = self._execute(self.env.registry, "payUsage", (ref.model_id, amount), payer)
        self._expect(outcome, errors, f"payUsage({amount}) by {payer}")
        if not outcome.ok:
            return
        holders_part = amount * ref.deployed.spec.share_bps // MAX_BPS
        self.payments[payer] -= amount
        # The owner's part is credited in the registry and pulled later (withdrawOwnerFees), never pushed.
        owner = ref.deployed.spec.owner
        self.payments["registry"] += amount - holders_part
        self.owner_fees[owner] = self.owner_fees.get(owner, 0) + amount - holders_part
        self.owner_credited += amount - holders_part
        self.payments[self._stake_name(model)] += holders_part
        if holders_part:  # the registry accrues: everything unaccounted is credited, gifts included
            offered = holders_part + ref.pending_gifts
            ref.pending_gifts = offered - ref.fees.pay_holders(offered)  # what does not fit stays

    def _gift(self, model: int, giver: str, amount: int) -> None:
        ref = self.refs[model]
        errors = {"ERC20InsufficientBalance"} if amount > self.payments.get(giver, 0) else set()
        outcome = self._execute(self.env.payment, "transfer", (ref.deployed.stake.address, amount), giver)
        self._expect(outcome, errors, f"gift of {amount} by {giver}")
        if outcome.ok:
            self.payments[giver] = self.payments.get(giver, 0) - amount
            self.payments[self._stake_name(model)] += amount
            ref.pending_gifts += amount

    def _accrue(self, model: int, caller: str) -> None:
        ref = self.refs[model]
        outcome = self._execute(ref.deployed.stake, "accrueFees", (), caller)
        self._expect(outcome, set(), "accrueFees")
        if ref.pending_gifts:
            ref.pending_gifts -= ref.fees.pay_holders(ref.pending_gifts)

    @rule(model=models, holder=owed_or_anyone)
    def withdraw_fees(self, model: int, holder: str) -> None:
        ref = self.refs[model]
        holder = self._resolve(ref, holder)
        address = ADDRESSES[holder]
        owed = ref.fees.fees_of(address)
        errors = {"ModelStakeTokenNoFees"} if owed == 0 else set()
        outcome = self._execute(ref.deployed.stake, "withdrawFees", (), holder)
        self._expect(outcome, errors, f"withdrawFees by {holder} (owed {owed})")
        if not outcome.ok:
            return
        # Today all of it; a partial withdrawal would pay what the token holds, the rest staying owed.
        paid = min(owed, self.payments[self._stake_name(model)])
        ref.fees.withdraw(address)
        if paid < owed:
            ref.fees.owed[address] = owed - paid
        self.payments[self._stake_name(model)] -= paid
        self.payments[holder] = self.payments.get(holder, 0) + paid
        _count("fees withdrawn")

    @rule(owner=st.one_of(st.sampled_from(OWNER_NAMES), actors), to=st.sampled_from((*PAYER_NAMES, "registry", "zero")))
    def withdraw_owner_fees(self, owner: str, to: str) -> None:
        """`owner` pulls all its owner fees to `to` (itself or anyone; the registry itself; the zero address)."""
        credited = self.owner_fees.get(owner, 0)
        errors = set()
        if to in ("zero", "registry"):
            errors.add("ContributionRegistryInvalidFeeRecipient")
        if credited == 0:
            errors.add("ContributionRegistryNoOwnerFees")
        recipient = ZERO_ADDRESS if to == "zero" else self.addresses[to]
        outcome = self._execute(self.env.registry, "withdrawOwnerFees", (self.env.payment.address, recipient), owner)
        self._expect(outcome, errors, f"withdrawOwnerFees by {owner} to {to} (credited {credited})")
        if outcome.ok:
            self.owner_fees[owner] = 0
            self.owner_withdrawn += credited
            self.payments["registry"] -= credited
            self.payments[to] = self.payments.get(to, 0) + credited
            _count("owner fees withdrawn")

    # ----- stake transfers

    @rule(model=models, sender=holder_or_anyone, recipient=st.sampled_from(STAKE_RECIPIENTS),
          portion=st.sampled_from(("all", "half", "one", "none", "too_much")))
    def transfer_stake(self, model: int, sender: str, recipient: str, portion: str) -> None:
        ref = self.refs[model]
        sender = self._resolve(ref, sender)
        source = ADDRESSES[sender]
        to = self._recipient(model, recipient)
        balance = ref.fees.balances.get(source, 0)
        amount = {"all": balance, "half": balance // 2, "one": 1, "none": 0, "too_much": balance + 1}[portion]
        errors = set()
        if amount > balance:
            errors.add("ERC20InsufficientBalance")
        if to == ZERO_ADDRESS or recipient in ("registry", "distributor"):
            errors.add("ERC20InvalidReceiver")  # stake there could never withdraw its fees (issue 24, N-6)
        outcome = self._execute(ref.deployed.stake, "transfer", (to, amount), sender)
        if to == ref.deployed.stake.address and not outcome.ok:
            return  # sending stake to its own token may become rejected: fine, if nothing changed
        self._expect(outcome, errors, f"transfer of {amount} stake from {sender} to {recipient}")
        if outcome.ok:
            _count(f"stake sent to {recipient if recipient in ('stake_self', 'stake_other') else 'an account'}")
            ref.fees.balances.setdefault(source, 0)  # anyone may send an empty transfer
            ref.fees.transfer(source, to, amount)

    # ----- rounds

    @rule(model=models, sender=st.one_of(st.sampled_from(OWNER_NAMES), actors), ahead=st.sampled_from((0, 0, 1, 2)))
    def commit_evaluation(self, model: int, sender: str, ahead: int) -> None:
        """`sender` commits the evaluation set of the model's round `ahead` after its next one: only the
        owner, once per round, and only for the next `EVALUATION_LOOKAHEAD + 1` rounds."""
        ref = self.refs[model]
        round_id = ref.next_round_id + ahead
        errors = set()
        if sender != ref.deployed.spec.owner:
            errors.add("ContributionRegistryNotModelOwner")
        if ahead > 1:
            errors.add("ContributionRegistryEvaluationRoundOutOfRange")
        if round_id in ref.evaluations:
            errors.add("ContributionRegistryEvaluationAlreadyCommitted")
        eval_hash = keccak(text=f"invariants evaluation set {model} {round_id}")
        outcome = self._execute(self.env.registry, "commitEvaluation", (ref.model_id, round_id, eval_hash), sender)
        self._expect(outcome, errors, f"commitEvaluation(model {model}, round {round_id}) by {sender}")
        if outcome.ok:
            ref.evaluations.add(round_id)

    @rule(model=models, amounts=allocation_units, list_zeros=st.booleans(), signing=signings,
          tamper=st.sampled_from(TAMPERS), submitter=actors)
    def submit_round(self, model: int, amounts: tuple[int, ...], list_zeros: bool, signing: str, tamper: str,
                     submitter: str) -> None:
        """A round allocating `amounts` units to the users, signed by `signing`, maybe tampered with."""
        ref = self.refs[model]
        spec = ref.deployed.spec
        if tamper == "resubmit_vetoed" and ref.vetoed:
            built, signatures = ref.vetoed[-1]
        else:
            allocations = {ADDRESSES[u]: a * spec.unit for u, a in zip(USER_NAMES, amounts) if a or list_zeros}
            if tamper == "over_per_round":
                first = ADDRESSES[USER_NAMES[0]]
                allocations[first] = allocations.get(first, 0) + spec.per_round + 1
            if not allocations and ref.latest is None:
                allocations = {ADDRESSES[USER_NAMES[0]]: 0}  # a tree needs a leaf
            built = build_round(ref.model_id, ref.next_round_id, allocations, previous=ref.latest)
            if tamper == "round_id":
                built = built.with_round(round_id=built.round.round_id + 1)
            if tamper == "cumulative":
                built = built.with_round(cumulative_emission=built.round.cumulative_emission + 1)
            signatures = self._sign(built.round, signing)
        round_ = built.round
        digest = round_digest(self.evm.chain_id, self.env.distributor.address, round_)
        errors = set()
        if ref.pending is not None:
            errors.add("RewardDistributorRoundPending")
        if round_.round_id != ref.next_round_id:
            errors.add("RewardDistributorUnexpectedRoundId")
        if round_.cumulative_emission != ref.cumulative_emission + round_.emission:
            errors.add("RewardDistributorCumulativeMismatch")
        if round_.emission > spec.per_round or round_.cumulative_emission > spec.max_emission:
            errors.add("RewardDistributorEmissionOverPolicy")
        if digest in ref.vetoed_digests:
            errors.add("RewardDistributorRoundWasVetoed")
        # A round that mints nothing keeps the claimable root: a new tree could only move stake (issue 24, N-4).
        current_root = ref.latest.round.merkle_root if ref.latest is not None else b"\x00" * 32
        if round_.emission == 0 and round_.merkle_root != current_root:
            errors.add("RewardDistributorZeroEmissionRootChanged")
        errors |= self._signature_errors(signing) if not (tamper == "resubmit_vetoed" and ref.vetoed) else set()
        # The owner's evaluation commitment must be on-chain first (issue 24).
        if round_.round_id not in ref.evaluations:
            errors.add("RewardDistributorEvaluationNotCommitted")
        outcome = self._execute(self.env.distributor, "submitRound", (round_.as_tuple(), signatures), submitter)
        self._expect(outcome, errors, f"submitRound(model {model}, round {round_.round_id}, {signing}, {tamper})")
        if outcome.ok:
            ref.pending = PendingRef(built, signatures, digest, outcome.timestamp + CHALLENGE_WINDOW,
                                     ADDRESSES[submitter])

    @rule(model=models, amounts=allocation_units, list_zeros=st.booleans(),
          signing=st.sampled_from(VALID_SIGNINGS), submitter=actors, publisher=st.sampled_from(ORACLE_NAMES),
          then=st.sampled_from(("finalize", "finalize", "wait", "veto")))
    def oracles_run_round(self, model: int, amounts: tuple[int, ...], list_zeros: bool, signing: str, submitter: str,
                          publisher: str, then: str) -> None:
        """The honest pipeline in one step, so that rounds often get as far as finalization and claims:
        a validly signed round is submitted (unless one is pending), its whole score list published by
        an oracle, and `then` the round is finalized at the end of its challenge window, left pending,
        or vetoed by the guardian (and its signed round replayed)."""
        ref = self.refs[model]
        if ref.pending is None:
            if ref.next_round_id not in ref.evaluations:
                self.commit_evaluation(model, ref.deployed.spec.owner, 0)
            self.submit_round(model, amounts, list_zeros, signing, "none", submitter)
        pending = ref.pending
        if pending is not None and not pending.lists.get(publisher) and not pending.complete:
            self.publish_scores(model, publisher, len(pending.built.entries), corrupt=False, wrong_round=False)
        if then == "finalize" and pending is not None and pending.complete:
            self.finalize_round(model, submitter, wait=True)
        elif then == "veto" and pending is not None:
            self.veto_round(model, "guardian")
            if ref.pending is None:  # someone replays the vetoed round's signatures: it must not return
                self.submit_round(model, amounts, list_zeros, signing, "resubmit_vetoed", submitter)

    @initialize(first_rounds=st.tuples(*[st.sampled_from(("finalized", "finalized", "pending", "none"))] * 2),
                amounts=allocation_units, claimers=st.sets(users, min_size=1),
                fees=st.integers(1, 10**21))
    def start_with_rounds(self, first_rounds: tuple[str, ...], amounts: tuple[int, ...], claimers: set[str],
                          fees: int) -> None:
        """Most examples start with a round pending or finalized on a model, some of its stake claimed
        and `fees` paid, so that the steps soon reach fee sharing; the rest start from nothing."""
        for model, stage in enumerate(first_rounds):
            if stage != "none":
                then = "finalize" if stage == "finalized" else "wait"
                self.oracles_run_round(model, amounts, False, "first_two", "bob", ORACLE_NAMES[0], then)
            if stage == "finalized":
                for user in sorted(claimers):
                    self.claim(model, user, user, "latest")
            if fees:
                self._pay_usage(model, "dave", fees)

    def _sign(self, round_: Round, signing: str) -> list[bytes]:
        positions, order = SIGNINGS[signing]
        signers = [ACCOUNTS[self.env.oracles[p]] for p in positions]
        if order == "stranger":
            signers.append(ACCOUNTS["alice"])
        if order in ("ascending", "stranger"):
            return sign(round_, signers, self.evm.chain_id, self.env.distributor.address)
        ascending = sign(round_, signers[:1] if order == "as_given" else signers, self.evm.chain_id,
                         self.env.distributor.address)
        return ascending * 2 if order == "as_given" else ascending[::-1]

    @staticmethod
    def _signature_errors(signing: str) -> set[str]:
        positions, order = SIGNINGS[signing]
        errors = set()
        if len(positions) + (order == "stranger") < THRESHOLD:
            errors.add("RewardDistributorInsufficientSignatures")
        if order == "stranger":
            errors |= {"RewardDistributorNotOracle", "RewardDistributorSignersNotAscending"}
        if order in ("descending", "as_given"):
            errors.add("RewardDistributorSignersNotAscending")
        return errors

    @rule(model=models, publisher=oracles_or_anyone, size=st.sampled_from((4, 1, 2, 3)), corrupt=rarely,
          wrong_round=rarely)
    def publish_scores(self, model: int, publisher: str, size: int, corrupt: bool, wrong_round: bool) -> None:
        """Publish the next `size` entries of the pending round's score list (maybe a corrupted one)."""
        ref = self.refs[model]
        pending = ref.pending
        errors = set()
        if publisher not in self.env.oracles:
            errors.add("RewardDistributorUnauthorizedPublisher")
        if pending is None or wrong_round:
            errors.add("RewardDistributorNoPendingRound")
        if pending is None:
            chunk = [ScoreEntry(MAX_ADDRESS, 0, 0)]
            round_id = ref.next_round_id
        else:
            own = pending.lists.get(publisher, [])  # each oracle extends its own list only
            start = len(own)
            chunk = list(pending.built.entries[start:start + size]) or [ScoreEntry(MAX_ADDRESS, 0, 0)]
            if corrupt:
                chunk[0] = ScoreEntry(chunk[0].account, chunk[0].score + 1, chunk[0].amount)
            round_id = pending.built.round.round_id
            if pending.complete:
                errors.add("RewardDistributorScoresAlreadyComplete")
            previous = int(own[-1].account, 16) if own else 0
            if int(chunk[0].account, 16) <= previous:
                errors.add("RewardDistributorScoresNotAscending")
            if sum(e.amount for e in own + chunk) > pending.built.round.emission:
                errors.add("RewardDistributorScoresAmountMismatch")
        args = (ref.model_id, round_id + int(wrong_round), [e.as_tuple() for e in chunk])
        outcome = self._execute(self.env.distributor, "publishScores", args, publisher)
        self._expect(outcome, errors, f"publishScores by {publisher}")
        if outcome.ok and pending is not None:
            own = pending.lists.setdefault(publisher, [])
            own.extend(chunk)
            if pending.matches(own):  # the guardian gets a full window with every score on-chain
                pending.completed_by = publisher
                pending.ends_at = max(pending.ends_at, outcome.timestamp + CHALLENGE_WINDOW)

    @rule(model=models, caller=oracles_or_anyone)
    def reset_scores(self, model: int, caller: str) -> None:
        ref = self.refs[model]
        errors = set()
        if caller not in self.env.oracles:
            errors.add("RewardDistributorUnauthorizedPublisher")
        if ref.pending is None:
            errors.add("RewardDistributorNoPendingRound")
        elif ref.pending.complete:
            errors.add("RewardDistributorScoresAlreadyComplete")
        outcome = self._execute(self.env.distributor, "resetScores", (ref.model_id, ref.next_round_id), caller)
        self._expect(outcome, errors, f"resetScores by {caller}")
        if outcome.ok and ref.pending is not None:
            ref.pending.lists.pop(caller, None)  # only the caller's own list

    @rule(model=models, caller=guardian_or_anyone, at_window_end=st.booleans())
    def veto_round(self, model: int, caller: str, at_window_end: bool = False) -> None:
        """A veto; if `at_window_end`, in the first block at the end of the pending round's window."""
        ref = self.refs[model]
        if at_window_end and ref.pending is not None and self.evm.pending_timestamp() < ref.pending.ends_at:
            self.evm.time_travel(ref.pending.ends_at)
        errors = set()
        if caller not in self.env.guardians:
            errors.add("AccessControlUnauthorizedAccount")
        if ref.pending is None:
            errors.add("RewardDistributorNoPendingRound")
        elif self.evm.pending_timestamp() >= ref.pending.ends_at and ref.pending.complete:
            errors.add("RewardDistributorChallengeWindowClosed")
        outcome = self._execute(self.env.distributor, "vetoRound", (ref.model_id,), caller)
        self._expect(outcome, errors, f"vetoRound by {caller}")
        if outcome.ok and ref.pending is not None:
            ref.vetoed.append((ref.pending.built, ref.pending.signatures))
            ref.vetoed_digests.add(ref.pending.digest)
            _count("round vetoed")
            ref.pending = None

    @rule(seconds=st.integers(1, 2 * CHALLENGE_WINDOW))
    def advance_time(self, seconds: int) -> None:
        self._step += 1
        RUN_STATS["steps"] += 1
        self.evm.time_travel(self.evm.pending_timestamp() + seconds)

    @rule(model=models, caller=actors, wait=mostly)
    def finalize_round(self, model: int, caller: str, wait: bool) -> None:
        """Finalize, after travelling to the end of the challenge window if `wait`."""
        ref = self.refs[model]
        pending = ref.pending
        if wait and pending is not None and self.evm.pending_timestamp() < pending.ends_at:
            self.evm.time_travel(pending.ends_at)
        errors = set()
        if pending is None:
            errors.add("RewardDistributorNoPendingRound")
        else:
            if self.evm.pending_timestamp() < pending.ends_at:
                errors.add("RewardDistributorChallengeWindowOpen")
            if not pending.complete:
                errors.add("RewardDistributorScoresIncomplete")
        outcome = self._execute(self.env.distributor, "finalizeRound", (ref.model_id,), caller)
        self._expect(outcome, errors, f"finalizeRound(model {model})")
        if outcome.ok and pending is not None:
            _count("zero-emission round finalized" if pending.built.round.emission == 0 else "round finalized")
            ref.finalized.append(pending.built)
            ref.pending = None
            ref.finalizations += 1
            ref.fees.start_fee_period(pending.built.round.cumulative_emission)

    # ----- claims

    def _leaf(self, ref: ModelRef, user: str, variant: str) -> tuple[str, int, list[bytes]]:
        """`(account, cumulativeAmount, proof)` for `user`: honest, from an older root, or forged."""
        account = ADDRESSES[user]
        rounds = {"latest": ref.finalized[-1:], "previous": ref.finalized[-2:-1], "oldest": ref.finalized[:1]}
        source = rounds.get(variant, ref.finalized[-1:])
        if not source or account not in source[0].leaves:
            return account, 0 if variant == "latest" else 1, []
        _, amount, proof = source[0].leaf(account)
        if variant == "inflated":
            return account, amount + 1, proof
        if variant == "other_proof":
            others = [a for a in source[0].leaves if a != account]
            if others:
                _, amount, proof = source[0].leaf(others[0])
        return account, amount, proof

    def _claim_errors(self, ref: ModelRef, account: str, amount: int, proof: list[bytes], claimed: int) -> set[str]:
        """Errors a claim must revert with (empty: must succeed). Only the latest finalized root claims
        (issue 24, N-5): a proof of any earlier root is refused, whatever its amount."""
        if ref.latest is None:
            return {"RewardDistributorNoFinalizedRound"}
        nothing = {"RewardDistributorNothingToClaim"} if amount <= claimed else set()
        if _verifies(ref.latest.round.merkle_root, account, amount, proof):
            return nothing
        return {"RewardDistributorInvalidProof"} | nothing

    @rule(model=models, user=claimant_or_user, sender=actors,
          variant=st.sampled_from(("latest",) * 4 + ("previous", "oldest", "inflated", "other_proof")))
    def claim(self, model: int, user: str, sender: str, variant: str) -> None:
        """`sender` claims `user`'s stake (anyone may pay the gas; the stake goes to `user`)."""
        ref = self.refs[model]
        user = self._resolve(ref, user)
        account, amount, proof = self._leaf(ref, user, variant)
        errors = self._claim_errors(ref, account, amount, proof, ref.claimed.get(account, 0))
        outcome = self._execute(self.env.distributor, "claim", (ref.model_id, account, amount, proof), sender)
        self._expect(outcome, errors, f"claim({variant}) of {user} for {amount} by {sender}")
        if outcome.ok:
            self._mint(ref, account, amount)

    @rule(picks=st.lists(st.tuples(models, users, st.sampled_from(("latest", "latest", "inflated"))), max_size=4),
          sender=actors)
    def claim_many(self, picks: list[tuple[int, str, str]], sender: str) -> None:
        """Several claims in one transaction: already-claimed entries are skipped, any bad one voids all."""
        claims, errors = [], set()
        running = {(m, ADDRESSES[u]): self.refs[m].claimed.get(ADDRESSES[u], 0) for m, u, _ in picks}
        for model, user, variant in picks:
            ref = self.refs[model]
            account, amount, proof = self._leaf(ref, user, variant)
            claims.append((ref.model_id, account, amount, proof))
            if errors or amount <= running[(model, account)]:
                continue
            entry_errors = self._claim_errors(ref, account, amount, proof, running[(model, account)])
            errors |= entry_errors
            running[(model, account)] = amount
        outcome = self._execute(self.env.distributor, "claimMany", (claims,), sender)
        self._expect(outcome, errors, f"claimMany({picks}) by {sender}")
        if outcome.ok:
            for model_id, account, amount, _ in claims:
                ref = next(r for r in self.refs if r.model_id == model_id)
                if amount > ref.claimed.get(account, 0):
                    self._mint(ref, account, amount)

    # Hypothesis picks uniformly among the rules it has not disabled for the example (swarm testing):
    # a second name for a rule makes it twice as likely. The rules that move stake and fees get one,
    # so that fees paid, stake transferred and fees withdrawn interleave with rounds and claims often,
    # and so do commitments and registrations, so that two contributors often race for one content.
    commit_contribution_too = commit_contribution
    register_contribution_too = register_contribution
    pay_fees_too = pay_fees
    transfer_stake_too = transfer_stake
    claim_too = claim
    withdraw_owner_fees_too = withdraw_owner_fees
    oracles_run_round_too = oracles_run_round

    # ----- calls nobody in the actor set may make

    @rule(model=models, caller=actors, call=st.sampled_from((
        "mint", "startFeePeriod", "pause", "addOracle", "setThreshold", "setChallengeWindow",
        "grantGuardian", "setStakeMinter", "commitEvaluation", "transferFrom")))
    def unauthorized_call(self, model: int, caller: str, call: str) -> None:
        ref = self.refs[model]
        stake, distributor, registry = ref.deployed.stake, self.env.distributor, self.env.registry
        me = ADDRESSES[caller]
        other = ADDRESSES["bob" if caller != "bob" else "alice"]
        unauthorized = {"AccessControlUnauthorizedAccount"}
        calls = {
            "mint": (stake, "mint", (me, 1, 2**96), {"ModelStakeTokenUnauthorizedMinter"}, False),
            "startFeePeriod": (stake, "startFeePeriod", (2**96,), {"ModelStakeTokenUnauthorizedMinter"}, False),
            "pause": (distributor, "pause", (), unauthorized, caller in self.env.pausers),
            "addOracle": (distributor, "addOracle", (me,), unauthorized, caller in self.env.admins),
            "setThreshold": (distributor, "setThreshold", (1,), unauthorized, caller in self.env.admins),
            "setChallengeWindow": (distributor, "setChallengeWindow", (1,), unauthorized, caller in self.env.admins),
            "grantGuardian": (distributor, "grantRole", (keccak(text="GUARDIAN_ROLE"), me), unauthorized,
                              caller in self.env.admins),
            "setStakeMinter": (registry, "setStakeMinter", (me,),
                               unauthorized | {"ContributionRegistryStakeMinterAlreadySet"}, False),
            "commitEvaluation": (registry, "commitEvaluation", (ref.model_id, 1, b"\x01" * 32),
                                 {"ContributionRegistryNotModelOwner"}, caller == ref.deployed.spec.owner),
            "transferFrom": (stake, "transferFrom", (other, me, 1),
                             {"ERC20InsufficientAllowance", "ERC20InsufficientBalance"}, False),
        }
        contract, fn, args, errors, permitted = calls[call]
        if permitted:
            return  # the caller holds the permission: not this rule's business
        self._expect(self._execute(contract, fn, args, caller), errors, f"{fn} by {caller}")

    # ----- observation and invariants

    def _stake_accounts(self, ref: ModelRef) -> list[str]:
        """Whose stake and fees are read: the users, and every address the reference model saw take
        part in a transfer. That covers every holder: the invariants check that these balances add up
        to the total supply, so no other address holds any. (An address that never held stake could
        only be owed fees through a bug that credits a non-holder; that is not looked for.)"""
        users = [ADDRESSES[n] for n in USER_NAMES]
        return users + [a for a in ref.fees.balances if a not in users]

    def _observe(self) -> dict[Any, Any]:
        """Every value the invariants compare, read on one state; cached per step.

        A view returns the same as long as the storage of the contracts it reads is the same, so a
        group of views is re-read only when one of those storage roots changed: a stake token's views
        read the token and (for a partial `withdrawFees`, maybe) its payment token; the distributor's
        read the distributor (and the registry it consults); the payment token's and the registry's
        only themselves. A reverted step re-reads nothing (its roots must not have changed).
        """
        if self._observed_step == self._step:
            return self._observation
        state, view, distributor = self.evm.state(), self.evm.view, self.env.distributor
        roots = {name: self.evm.storage_root(state, address) for name, address in self._contracts.items()}
        obs: dict[Any, Any] = {}
        for ref in self.refs:
            stake, i, accounts = ref.deployed.stake, ref.index, self._stake_accounts(ref)

            def read_stake(stake: Contract = stake, i: int = i, accounts: list[str] = accounts) -> dict[Any, Any]:
                values = {(i, fn): view(state, stake, fn) for fn in
                          ("totalSupply", "feeSupply", "feePerShare", "claimStartFeePerShare", "heldFees")}
                for address in accounts:
                    values[i, "balance", address] = view(state, stake, "balanceOf", address)
                    values[i, "fees", address] = view(state, stake, "feesOf", address)
                return values

            obs |= self._views(f"stake_{i}", (roots[f"stake_{i}"], roots["payment"], tuple(accounts)), read_stake)

        def read_distributor() -> dict[Any, Any]:
            values: dict[Any, Any] = {}
            for ref in self.refs:
                finalized = view(state, distributor, "finalizedRound", ref.model_id)
                values[ref.index, "finalized"] = {k: v for k, v in finalized.items() if k != "stakeToken"}
                values[ref.index, "pending"] = view(state, distributor, "pendingRound", ref.model_id)
                for name in ORACLE_NAMES:
                    values[ref.index, "list", name] = view(
                        state, distributor, "scoreList", ref.model_id, self.addresses[name])
                for name in USER_NAMES:
                    values[ref.index, "claimed", ADDRESSES[name]] = view(
                        state, distributor, "claimed", ref.model_id, ADDRESSES[name])
            return values

        obs |= self._views("distributor", (roots["distributor"], roots["registry"]), read_distributor)
        obs |= self._views("payment", (roots["payment"], tuple(self.payments)), lambda: {
            ("payment", name): view(state, self.env.payment, "balanceOf", self.addresses[name])
            for name in self.payments})
        next_ids = tuple(ref.next_round_id for ref in self.refs)
        obs |= self._views("registry", (roots["registry"], next_ids), lambda: {
            "contributionCount": view(state, self.env.registry, "contributionCount"),
            **{("ownerFees", name): view(state, self.env.registry, "ownerFees", ADDRESSES[name], self.env.payment.address)
               for name in ACTOR_NAMES},
            **{(ref.index, "evaluation", round_id): view(
                state, self.env.registry, "evaluationCommitment", ref.model_id, round_id)["evalHash"]
               for ref in self.refs for round_id in (ref.next_round_id, ref.next_round_id + 1)}})
        self._previous_observation, self._observation, self._observed_step = self._observation, obs, self._step
        self._previous_roots, self._roots = self._roots, roots
        self._only_reverts = self._sent and not self._succeeded
        self._sent, self._succeeded = False, False
        return obs

    def _views(self, group: str, key: tuple[Any, ...], read: Any) -> dict[Any, Any]:
        """`read()`, or what it returned last time if `key` (storage roots, accounts) is unchanged."""
        cached = self._view_cache.get(group)
        if cached is not None and cached[0] == key and None not in key:
            return cached[1]
        values = read()
        self._view_cache[group] = (key, values)
        return values

    @invariant()
    def invariant_reverted_call_changed_nothing(self) -> None:
        obs = self._observe()
        previous = self._previous_observation
        if self._only_reverts and previous:
            changed = {k: (previous[k], v) for k, v in obs.items() if k in previous and previous[k] != v}
            assert not changed, f"a reverted call changed state: {changed}"
            changed_roots = [name for name, root in self._roots.items() if root != self._previous_roots.get(name)]
            assert not changed_roots, f"a reverted call changed the storage of {changed_roots}"

    @invariant()
    def invariant_minted_within_finalized_emission(self) -> None:
        obs = self._observe()
        for ref in self.refs:
            minted, cumulative = obs[ref.index, "totalSupply"], obs[ref.index, "finalized"]["cumulativeEmission"]
            assert minted <= cumulative, f"model {ref.index}: {minted} stake minted, only {cumulative} finalized"
            claimed = sum(obs[ref.index, "claimed", ADDRESSES[u]] for u in USER_NAMES)
            assert minted == claimed, f"model {ref.index}: supply {minted} != sum of claims {claimed}"

    @invariant()
    def invariant_claims_within_leaves(self) -> None:
        obs = self._observe()
        for ref in self.refs:
            for name in USER_NAMES:
                account = ADDRESSES[name]
                claimed = obs[ref.index, "claimed", account]
                under = ref.claimed_under.get(account, 0)
                assert claimed <= under, f"model {ref.index}: {name} claimed {claimed} > its leaf {under}"
                latest = ref.latest.leaves.get(account, 0) if ref.latest else 0
                assert claimed <= latest, f"model {ref.index}: {name} claimed {claimed} > latest leaf {latest}"

    @invariant()
    def invariant_zero_emission_rounds_keep_the_root(self) -> None:
        """Issue 24, N-4: a final round that minted nothing left the claimable tree as it was, and a root
        is never final before some stake was emitted."""
        obs = self._observe()
        for ref in self.refs:
            for before, after in zip([None, *ref.finalized], ref.finalized):
                if after.round.emission == 0:
                    assert before is not None, f"model {ref.index}: a first round minted nothing"
                    assert after.round.merkle_root == before.round.merkle_root, \
                        f"model {ref.index}: zero-emission round {after.round.round_id} moved the root"
            if ref.latest is not None:
                assert obs[ref.index, "finalized"]["merkleRoot"] == ref.latest.round.merkle_root

    @invariant()
    def invariant_owner_fees_credited_are_withdrawn_or_held(self) -> None:
        """Owner fees (pull payments, issue 24): every unit credited was withdrawn or is still held, to the
        unit; each actor's on-chain balance is the reference's; the registry holds exactly what it owes."""
        obs = self._observe()
        held = sum(obs["ownerFees", name] for name in ACTOR_NAMES)
        assert self.owner_credited == self.owner_withdrawn + held, (
            f"owner fees: credited {self.owner_credited} != withdrawn {self.owner_withdrawn} + held {held}")
        for name in ACTOR_NAMES:
            assert obs["ownerFees", name] == self.owner_fees.get(name, 0), f"ownerFees of {name}"
        assert obs["payment", "registry"] == held, f"registry holds {obs['payment', 'registry']}, owes {held}"

    @invariant()
    def invariant_balances_sum_to_supply(self) -> None:
        obs = self._observe()
        for ref in self.refs:
            total = sum(obs[ref.index, "balance", a] for a in self._stake_accounts(ref))
            assert total == obs[ref.index, "totalSupply"], f"model {ref.index}: balances sum to {total}"

    @invariant()
    def invariant_fees_solvent(self) -> None:
        """The stake token holds everything it owes; what is left over is rounding dust.

        Owed: every holder's `feesOf`, the held fees, and what the stake final rounds allocated but
        nobody claimed yet will be credited on claim. Gifts not yet accrued are not owed to anyone.

        Dust bound: the fee-per-share accumulator and every holder's fees are floor divisions. Each
        division already applied for good (a settlement of a holder with stake - on a transfer, a
        withdrawal or a mint to a holder -, or the recycling of unclaimed stake's fees when a round
        becomes final) kept less than 1 wei back, and each one that a read applies now (one per
        holder's pending fees, one for the unclaimed stake) holds back less than 1 wei more. Every
        accumulator increment loses less than feeSupply / 1e36 (< 1e-12 wei) of its payment, less
        than 1 wei over all payments. So the surplus is below settlements + finalizations + holders
        + 2 wei (a holder settling after each of F fee payments can lose up to F wei by itself, so
        "accounts + fee events" would not be a bound).
        """
        obs = self._observe()
        for ref in self.refs:
            i = ref.index
            fees_owed = sum(obs[i, "fees", a] for a in self._stake_accounts(ref))
            unclaimed = (obs[i, "feeSupply"] - obs[i, "totalSupply"]) * (
                obs[i, "feePerShare"] - obs[i, "claimStartFeePerShare"]) // FEE_PRECISION
            owed = fees_owed + obs[i, "heldFees"] + unclaimed
            held = obs["payment", self._stake_name(i)] - ref.pending_gifts
            assert held >= owed, f"model {i}: stake token holds {held}, owes {owed} (insolvent by {owed - held})"
            dust_bound = ref.fees.settlements + ref.finalizations + len(ref.holders()) + 2
            assert held - owed < dust_bound, f"model {i}: surplus {held - owed} is not dust (bound {dust_bound})"

    @invariant()
    def invariant_chain_matches_reference(self) -> None:
        obs = self._observe()
        for ref in self.refs:
            i, f = ref.index, ref.fees
            expected = {"totalSupply": f.supply, "feeSupply": f.fee_supply, "feePerShare": f.per_share,
                        "claimStartFeePerShare": f.claim_start, "heldFees": f.held}
            actual = {k: obs[i, k] for k in expected}
            assert actual == expected, f"model {i}: token state {actual} != reference {expected}"
            for address in self._stake_accounts(ref):
                name = self._name_of(address)
                assert obs[i, "balance", address] == f.balances.get(address, 0), f"model {i}: balance of {name}"
                assert obs[i, "fees", address] == f.fees_of(address), (
                    f"model {i}: feesOf({name}) {obs[i, 'fees', address]} != reference {f.fees_of(address)}")
            for name in USER_NAMES:
                account = ADDRESSES[name]
                assert obs[i, "claimed", account] == ref.claimed.get(account, 0), f"model {i}: claimed by {name}"
            latest = ref.latest
            finalized = {"merkleRoot": latest.round.merkle_root if latest else b"\x00" * 32,
                         "roundId": latest.round.round_id if latest else 0,
                         "cumulativeEmission": ref.cumulative_emission}
            assert obs[i, "finalized"] == finalized, f"model {i}: finalized {obs[i, 'finalized']} != {finalized}"
            self._check_pending(i, obs[i, "pending"], ref.pending)
            for round_id in (ref.next_round_id, ref.next_round_id + 1):
                committed = obs[i, "evaluation", round_id] != b"\x00" * 32
                assert committed == (round_id in ref.evaluations), f"model {i}: evaluation of round {round_id}"
            if ref.pending is not None:  # issue 24: no round is pending without its owner's evaluation set
                assert ref.pending.built.round.round_id in ref.evaluations, f"model {i}: round pending uncommitted"
            for name in ORACLE_NAMES:
                self._check_list(i, name, obs[i, "list", name], ref.pending)
        for name, balance in self.payments.items():
            assert obs["payment", name] == balance, f"payment balance of {name}: {obs['payment', name]} != {balance}"
        assert obs["contributionCount"] == self.contribution_count

    def _check_pending(self, i: int, actual: dict[str, Any], pending: PendingRef | None) -> None:
        if pending is None:
            assert actual["roundId"] == 0, f"model {i}: round {actual['roundId']} pending, none expected"
            return
        round_ = pending.built.round
        expected = {
            "merkleRoot": round_.merkle_root, "scoresHash": round_.scores_hash, "digest": pending.digest,
            "emission": round_.emission, "cumulativeEmission": round_.cumulative_emission,
            "roundId": round_.round_id, "challengeEndsAt": pending.ends_at, "submitter": pending.submitter,
            "scoresPublisher": self.addresses[pending.completed_by] if pending.completed_by else ZERO_ADDRESS,
        }
        got = {k: actual[k] for k in expected}
        assert got == expected, f"model {i}: pending round {got} != reference {expected}"

    def _check_list(self, i: int, name: str, actual: dict[str, Any], pending: PendingRef | None) -> None:
        """`name`'s own score list of model i's pending round, as the distributor shows it."""
        own = pending.lists.get(name, []) if pending is not None else []
        expected = {
            "runningHash": scores_hash(own) if own else b"\x00" * 32, "amount": sum(e.amount for e in own),
            "count": len(own), "lastAccount": own[-1].as_tuple()[0] if own else ZERO_ADDRESS,
            "digest": pending.digest if own and pending is not None else b"\x00" * 32,
        }
        got = {k: actual[k] for k in expected}
        assert got == expected, f"model {i}: {name}'s score list {got} != reference {expected}"


# ----------------------------------------------------------------------------------------------------
# The test
# ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def invariant_env(_deployed: Any) -> Any:
    """The ledger deployed on the session chain, and a snapshot of it every example starts from.
    The session chain is rolled back to before the deployment afterwards."""
    chain, _ = _deployed
    tester = chain.w3.provider.ethereum_tester
    before = tester.take_snapshot()
    try:
        env = deploy_invariant_ledger(chain)
        evm = Evm(chain)
        # Payment-token balances that move: the payers' and the contracts'. (The role accounts hold none
        # and cannot receive any; if a bug paid them, a stake token's balance would be short.)
        tracked = {**{n: ADDRESSES[n] for n in PAYER_NAMES}, "registry": env.registry.address,
                   "distributor": env.distributor.address,
                   **{f"stake_{i}": m.stake.address for i, m in enumerate(env.models)}}
        payments = {name: int(env.payment.functions.balanceOf(a).call()) for name, a in tracked.items()}
        yield env, evm, tester.take_snapshot(), payments
    finally:
        tester.revert_to_snapshot(before)


def test_ledger_invariants(invariant_env: Any) -> None:
    """Random multi-model histories keep every invariant (examples and steps: the hypothesis profile)."""
    env, evm, base, payments = invariant_env
    run_state_machine_as_test(lambda: LedgerMachine(env, evm, base, payments), settings=settings())
    calls = ", ".join(f"{fn} {ok}/{ok + reverted}" for fn, (ok, reverted) in sorted(RUN_STATS["calls"].items()))
    events = ", ".join(f"{e} {n}" for e, n in sorted(RUN_STATS["events"].items()))
    print(f"\n{RUN_STATS['examples']} examples, {RUN_STATS['steps']} steps; succeeded/sent: {calls}; {events}")


# Step sequences of the machine's own rules, replayed in order with every invariant checked after each
# step, as a hypothesis run would. They reach what random search seldom does in a default run.
#
# Amounts near 2**256 / FEE_PRECISION (~1.16e41 base units): before the L-1 fix (Math.mulDiv, and
# intake capped to what keeps feePerShare in range) the stake token documented "Payments up to ~1e41
# base units fit without overflow", but it credited in one `amount * FEE_PRECISION` all it held
# unaccounted (gifts pile up until the next accrual) or all the fees held before the first final
# round; past the bound that overflowed (Panic 0x11) for good, and each of these reverted there:
# the usage payment (for ever), the first finalization (for ever), the second payment.
_ROUND = {"list_zeros": False, "signing": "first_two", "submitter": "bob", "publisher": "oracle1"}
REPLAYED_SEQUENCES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    # Two gifts within the documented bound, then a usage payment of the model.
    "gifts_pile_up_past_the_credit_bound": [
        ("oracles_run_round", {"model": 0, "amounts": (10, 0, 0, 0), "then": "finalize", **_ROUND}),
        ("pay_fees", {"model": 0, "payer": "alice", "amount": 10**41, "how": "gift"}),
        ("pay_fees", {"model": 0, "payer": "alice", "amount": 10**41, "how": "gift"}),
        ("pay_fees", {"model": 0, "payer": "bob", "amount": 10**18, "how": "pay_usage"}),
    ],
    # Four usage payments within the bound while no round is final (30% to holders: 1.2e41 held), then
    # the first round is finalized.
    "fees_held_past_the_credit_bound": [
        *[("pay_fees", {"model": 0, "payer": "alice", "amount": 10**41, "how": "pay_usage"})] * 4,
        ("oracles_run_round", {"model": 0, "amounts": (10, 0, 0, 0), "then": "finalize", **_ROUND}),
    ],
    # Owner fees (pull payments, issue 24): credited by payments of both models, withdrawn to another payer,
    # refused to the registry itself and when nothing is left.
    "owner_fees_credited_then_withdrawn": [
        ("pay_fees", {"model": 0, "payer": "alice", "amount": 10**18 + 7, "how": "pay_usage"}),
        ("pay_fees", {"model": 1, "payer": "bob", "amount": 3, "how": "pay_usage"}),
        ("withdraw_owner_fees", {"owner": "owner_a", "to": "registry"}),
        ("withdraw_owner_fees", {"owner": "owner_a", "to": "carol"}),
        ("withdraw_owner_fees", {"owner": "owner_a", "to": "owner_a"}),
        ("pay_fees", {"model": 0, "payer": "dave", "amount": 10**20, "how": "pay_usage"}),
        ("withdraw_owner_fees", {"owner": "owner_a", "to": "owner_a"}),
        ("withdraw_owner_fees", {"owner": "alice", "to": "alice"}),
    ],
    # A round allocating 1 wei of stake, then two usage payments within the bound.
    "fee_per_share_over_a_one_wei_fee_supply": [
        ("oracles_run_round", {"model": 1, "amounts": (1, 0, 0, 0), "then": "finalize", **_ROUND}),
        ("claim", {"model": 1, "user": "alice", "sender": "alice", "variant": "latest"}),
        ("pay_fees", {"model": 1, "payer": "bob", "amount": 10**41, "how": "pay_usage"}),
        ("pay_fees", {"model": 1, "payer": "bob", "amount": 10**41, "how": "pay_usage"}),
    ],
}


@pytest.mark.parametrize("sequence", sorted(REPLAYED_SEQUENCES))
def test_replayed_sequence_keeps_every_invariant(invariant_env: Any, sequence: str) -> None:
    machine = LedgerMachine(*invariant_env)
    invariants = [getattr(machine, name) for name in dir(LedgerMachine) if name.startswith("invariant_")]
    for check in invariants:
        check()
    for rule_name, arguments in REPLAYED_SEQUENCES[sequence]:
        getattr(machine, rule_name)(**arguments)
        for check in invariants:
            check()

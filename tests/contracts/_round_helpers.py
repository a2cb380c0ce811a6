"""Build, sign, submit, publish and finalize distributor rounds on the embedded chain (tests and benchmarks).

A round goes: per-account allocations -> cumulative leaves `(account, cumulativeAmount)` ->
`StandardMerkleTree` -> score list (ascending accounts) -> `scores_hash` -> `Round` -> oracle
signatures in strictly ascending signer order.

Anyone may submit a signed round, but only oracles publish (or reset) score lists, each its own, so
`publish` and `reset` must be sent by an oracle; `run_round` publishes with its first signer.

`submitRound` requires the model owner's evaluation commitment for the round (issue 24): `submit` makes it
first (`commit_evaluation`, a fixed test hash, by the owner's real key) unless told not to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.types import TxReceipt

from openledger_chain.build import load_artifact
from openledger_chain.chain import dev_accounts
from openledger_chain.contracts import OpenLedger
from openledger_chain.merkle import StandardMerkleTree
from openledger_chain.rounds import Round, ScoreEntry, order_signatures, scores_hash, sign_round, sorted_score_entries

LEAF_ENCODING = ["address", "uint256"]
METHOD_HASH = b"\x4d" * 32
ROUND_FILE_HASH = b"\xf1" * 32
# `IRewardDistributor.PendingRound`, in ABI order.
PENDING_FIELDS = ("merkleRoot", "scoresHash", "digest", "emission", "cumulativeEmission", "roundId", "challengeEndsAt",
                  "submitter", "scoresPublisher", "pausedSecondsAtStart")
# `IRewardDistributor.ScoreList` (one oracle's own score list), in ABI order.
LIST_FIELDS = ("runningHash", "lastAccount", "amount", "digest", "count")
ZERO_ADDRESS = "0x" + "00" * 20
# The evaluation-set hash `commit_evaluation` commits for every round (the contracts only need it non-zero).
EVAL_HASH = b"\xe7" * 32
# Rounds built here stay submittable for ever unless a test sets a `deadline` (tests travel in time freely).
FAR_DEADLINE = 2**40


@dataclass(frozen=True)
class BuiltRound:
    """A round with everything needed to submit, publish and claim it."""

    round: Round
    entries: list[ScoreEntry]
    cumulative: dict[str, int]  # checksummed account -> cumulative amount, carried to the next round
    leaves: dict[str, int]  # the tree's leaves: `cumulative` plus any `extra_leaves`
    tree: StandardMerkleTree

    def leaf(self, account: str) -> tuple[str, int, list[bytes]]:
        """`(account, cumulativeAmount, proof)` for `account`'s claim."""
        account = to_checksum_address(account)
        amount = self.leaves[account]
        proof = [bytes.fromhex(p[2:]) for p in self.tree.get_proof((account, amount))]
        return account, amount, proof

    def with_round(self, **changes: Any) -> BuiltRound:
        """The same data with some `Round` fields replaced (e.g. `round_id=2`), for attack tests."""
        return replace(self, round=replace(self.round, **changes))


def build_round(
    model_id: int,
    round_id: int,
    allocations: Mapping[str, int],
    *,
    previous: BuiltRound | None = None,
    extra_leaves: Mapping[str, int] | None = None,
    deadline: int = FAR_DEADLINE,
) -> BuiltRound:
    """Round `round_id` allocating `allocations` (account -> stake this round) on top of `previous`.

    `extra_leaves` adds leaves to the tree only (not to the score list or the emission); the benchmark
    uses it to claim from large trees without publishing as many scores.
    """
    cumulative = dict(previous.cumulative) if previous else {}
    for account, amount in allocations.items():
        key = to_checksum_address(account)
        cumulative[key] = cumulative.get(key, 0) + amount
    emission = sum(allocations.values())
    prior = previous.round.cumulative_emission if previous else 0
    leaves = {**cumulative, **{to_checksum_address(a): v for a, v in (extra_leaves or {}).items()}}
    tree = StandardMerkleTree.of(sorted(leaves.items()), LEAF_ENCODING)
    # Score = amount in whole tokens, an arbitrary but deterministic raw score.
    entries = sorted_score_entries(ScoreEntry(to_checksum_address(a), v // 10**15 - 7, v) for a, v in allocations.items())
    round_ = Round(
        model_id=model_id,
        round_id=round_id,
        merkle_root=bytes.fromhex(tree.root[2:]),
        emission=emission,
        cumulative_emission=prior + emission,
        scores_hash=scores_hash(entries),
        method_hash=METHOD_HASH,
        round_file_hash=ROUND_FILE_HASH,
        deadline=deadline,
    )
    return BuiltRound(round_, entries, cumulative, leaves, tree)


def sign(
    round_: Round, signers: Sequence[LocalAccount], chain_id: int, distributor: str, *, order: bool = True
) -> list[bytes]:
    """Each signer's signature of `round_`, in ascending signer order unless `order=False` (given order)."""
    signatures = [sign_round(s.key, chain_id, distributor, round_) for s in signers]
    if not order:
        return signatures
    return [signature for _, signature in order_signatures(chain_id, distributor, round_, signatures)]


def commit_evaluation(
    ledger: OpenLedger, model_id: int, round_id: int, owner: LocalAccount | None = None
) -> TxReceipt | None:
    """The model owner commits `EVAL_HASH` as round `round_id`'s evaluation set, unless a set is committed
    already or the registry would refuse any commitment for it (no such model, a round outside the next
    `EVALUATION_LOOKAHEAD + 1`): then None, and an attack test's `submitRound` meets the check it aims at.
    `owner` defaults to the dev account that owns the model. Only `ledger.chain` and `ledger.distributor`
    are used (the registry is the distributor's), so a bare stack of contracts works too.

    Raises:
        LookupError: the model's owner is none of the dev accounts and no `owner` was given.
    """
    address = ledger.distributor.functions.registry().call()
    registry = ledger.chain.w3.eth.contract(address=address, abi=load_artifact("ContributionRegistry").abi).functions
    next_round = int(ledger.distributor.functions.finalizedRound(model_id).call()[1]) + 1
    in_range = next_round <= round_id <= next_round + int(registry.EVALUATION_LOOKAHEAD().call())
    if not 1 <= model_id <= int(registry.modelCount().call()) or not in_range:
        return None
    if bytes(registry.evaluationCommitment(model_id, round_id).call()[0]) != bytes(32):
        return None
    if owner is None:
        owner_address = registry.getModel(model_id).call()[0]
        owner = next((a for a in dev_accounts() if a.address == owner_address), None)
        if owner is None:
            raise LookupError(f"model {model_id}'s owner {owner_address} is not a dev account: pass its key as `owner`")
    return ledger.chain.transact(registry.commitEvaluation(model_id, round_id, EVAL_HASH), owner)


def submit(
    ledger: OpenLedger,
    built: BuiltRound,
    signers: Sequence[LocalAccount],
    sender: LocalAccount,
    signatures: Sequence[bytes] | None = None,
    *,
    commit: bool = True,
    owner: LocalAccount | None = None,
) -> TxReceipt:
    """Submit `built` signed by `signers` (or with `signatures`) from `sender`; with `commit`, the model's
    `owner` first commits the round's evaluation set if it has not (see `commit_evaluation`)."""
    if commit:
        commit_evaluation(ledger, built.round.model_id, built.round.round_id, owner)
    if signatures is None:
        signatures = sign(built.round, signers, ledger.chain.chain_id, ledger.distributor.address)
    function = ledger.distributor.functions.submitRound(built.round.as_tuple(), list(signatures))
    return ledger.chain.transact(function, sender)


def publish(
    ledger: OpenLedger, built: BuiltRound, sender: LocalAccount, chunk: int = 100, entries: Sequence[ScoreEntry] | None = None
) -> list[TxReceipt]:
    """Publish `entries` (default: the round's whole score list) in chunks of `chunk`; `sender` must be an oracle."""
    entries = built.entries if entries is None else entries
    receipts = []
    for start in range(0, len(entries), chunk):
        part = [e.as_tuple() for e in entries[start : start + chunk]]
        function = ledger.distributor.functions.publishScores(built.round.model_id, built.round.round_id, part)
        receipts.append(ledger.chain.transact(function, sender))
    return receipts


def reset(ledger: OpenLedger, built: BuiltRound, sender: LocalAccount) -> TxReceipt:
    """Clear `sender`'s own score list of the pending round; `sender` must be an oracle."""
    function = ledger.distributor.functions.resetScores(built.round.model_id, built.round.round_id)
    return ledger.chain.transact(function, sender)


def score_list(ledger: OpenLedger, model_id: int, publisher: str) -> dict[str, Any]:
    """`publisher`'s own score list of the model's pending round, by field name."""
    return dict(zip(LIST_FIELDS, ledger.distributor.functions.scoreList(model_id, publisher).call(), strict=True))


def challenge_ends_at(ledger: OpenLedger, model_id: int) -> int:
    """When the model's pending round's challenge window ends (fixed when the round was submitted)."""
    return int(ledger.distributor.functions.pendingRound(model_id).call()[PENDING_FIELDS.index("challengeEndsAt")])


def end_challenge_window(ledger: OpenLedger, model_id: int) -> None:
    """Move the chain's clock to the end of the model's pending round's challenge window."""
    ends_at = challenge_ends_at(ledger, model_id)
    tester = ledger.chain.w3.provider.ethereum_tester
    if tester.get_block_by_number("pending")["timestamp"] < ends_at:
        tester.time_travel(ends_at)


def schedule_admin(ledger: OpenLedger, proposer: LocalAccount, call: Any) -> None:
    """Schedule a distributor admin call through the AdminTimelock and move the clock past its delay
    (run it with `ledger.execute_admin_call`). Do it before a round is pending: the clock moves."""
    ledger.schedule_admin_call(proposer, call)
    delay = int(ledger.timelock.functions.getMinDelay().call())
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(tester.get_block_by_number("pending")["timestamp"] + delay)


def admin(ledger: OpenLedger, proposer: LocalAccount, call: Any) -> TxReceipt:
    """Run a distributor admin call the only way there is: scheduled through the timelock, after its delay."""
    schedule_admin(ledger, proposer, call)
    return ledger.execute_admin_call(proposer, call)


def finalize(ledger: OpenLedger, model_id: int, sender: LocalAccount) -> TxReceipt:
    end_challenge_window(ledger, model_id)
    return ledger.chain.transact(ledger.distributor.functions.finalizeRound(model_id), sender)


def run_round(
    ledger: OpenLedger,
    built: BuiltRound,
    signers: Sequence[LocalAccount],
    sender: LocalAccount,
    chunk: int = 100,
    publisher: LocalAccount | None = None,
    owner: LocalAccount | None = None,
) -> BuiltRound:
    """Submit and finalize `built` from `sender`, publishing its scores from `publisher` (default: the
    first signer, an oracle); the model's `owner` commits the evaluation set first if needed; returns it
    for chaining."""
    submit(ledger, built, signers, sender, owner=owner)
    publish(ledger, built, publisher or signers[0], chunk)
    finalize(ledger, built.round.model_id, sender)
    return built


def claim(ledger: OpenLedger, built: BuiltRound, account: str, sender: LocalAccount) -> TxReceipt:
    account, amount, proof = built.leaf(account)
    function = ledger.distributor.functions.claim(built.round.model_id, account, amount, proof)
    return ledger.chain.transact(function, sender)

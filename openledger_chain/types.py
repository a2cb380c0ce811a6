"""Domain types shared across the package, mirroring the contracts' structs."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NewType

ModelId = NewType("ModelId", int)
ContributionId = NewType("ContributionId", int)
RoundId = NewType("RoundId", int)
Wei = NewType("Wei", int)


class ContributionKind(enum.IntEnum):
    """`IContributionRegistry.ContributionKind`, in the same order."""

    DATA = 0
    COMPUTE = 1
    FINETUNE = 2
    EVALUATION = 3
    ANNOTATION = 4

    @classmethod
    def parse(cls, name: str) -> ContributionKind:
        try:
            return cls[name.upper().replace("-", "").replace("_", "")]
        except KeyError:
            choices = ", ".join(k.name.lower() for k in cls)
            raise ValueError(f"unknown contribution kind {name!r}; choose one of {choices}") from None


@dataclass(frozen=True)
class ModelParams:
    """`IContributionRegistry.ModelParams`: what registering a model takes."""

    spec_hash: bytes
    spec_uri: str
    payment_token: str
    contributor_share_bps: int
    emission_per_round: int
    max_emission: int
    name: str
    symbol: str

    def as_tuple(self) -> tuple[object, ...]:
        return (
            self.spec_hash,
            self.spec_uri,
            self.payment_token,
            self.contributor_share_bps,
            self.emission_per_round,
            self.max_emission,
            self.name,
            self.symbol,
        )


@dataclass(frozen=True)
class Model:
    """`IContributionRegistry.Model`, plus its id."""

    model_id: ModelId
    owner: str
    contributor_share_bps: int
    payment_token: str
    stake_token: str
    emission_per_round: int
    max_emission: int
    spec_hash: bytes


@dataclass(frozen=True)
class Contribution:
    """A registered contribution, as its `ContributionRegistered` event (and later withdrawal) tells it."""

    contribution_id: ContributionId
    model_id: ModelId
    contributor: str
    kind: ContributionKind
    content_hash: bytes
    uri: str
    block_number: int
    withdrawn: bool = False
    displaced: bool = False  # an older commitment to the same content registered later and took it


@dataclass(frozen=True)
class ContributionRecord:
    """`IContributionRegistry.Contribution`, plus its id: what the registry stores (`getContribution`)."""

    contribution_id: ContributionId
    model_id: ModelId
    contributor: str
    kind: ContributionKind
    withdrawn: bool
    displaced: bool
    registered_at: int  # block of the registration
    content_hash: bytes


@dataclass(frozen=True)
class PendingRound:
    """`IRewardDistributor.PendingRound`: a submitted round waiting for its scores and its window."""

    merkle_root: bytes
    scores_hash: bytes
    digest: bytes
    emission: int
    cumulative_emission: int
    round_id: int  # 0: no round pending
    challenge_ends_at: int
    submitter: str
    scores_publisher: str  # the oracle whose score list completed the round; the zero address until one has
    paused_seconds_at_start: int

    @property
    def scores_complete(self) -> bool:
        return int(self.scores_publisher, 16) != 0


@dataclass(frozen=True)
class ScoreList:
    """`IRewardDistributor.ScoreList`: one oracle's score list of the pending round, as published so far."""

    running_hash: bytes
    last_account: str
    amount: int
    digest: bytes  # the submission it belongs to
    count: int


@dataclass(frozen=True)
class SignedContribution:
    """One entry of `registerContributionsFor`: a registration its contributor signed (EIP-712
    `RegisterContribution`, the message `registerContributionFor` checks) for a relayer to send."""

    contributor: str
    kind: ContributionKind
    content_hash: bytes
    uri: str
    salt: bytes
    deadline: int
    signature: bytes

    def as_tuple(self) -> tuple[object, ...]:
        """The `IContributionRegistry.SignedContribution` struct, in field order."""
        return (int(self.kind), self.content_hash, self.uri, self.salt, self.contributor, self.deadline,
                self.signature)


# ----- contribution bonds (issue 23)

#: `IContributionBonds.BondStatus` names, by their enum index.
BOND_STATUSES = ("none", "held", "released", "forfeited", "paid")
#: `IContributionBonds.BondDecision`: the leaf's `uint8 decision` of each outcome a round can decide.
BOND_DECISION_CODES = {"released": 1, "forfeited": 2}


@dataclass(frozen=True)
class BondPolicy:
    """`IContributionBonds.BondPolicy`: `amount` per registration now; a raise to `pending_amount` takes effect
    at block `pending_from` (0: none pending)."""

    amount: int
    pending_amount: int
    pending_from: int

    def amount_at(self, block: int) -> int:
        """The bond a registration mined in `block` posts (`ContributionBonds.bondAmount`)."""
        return self.pending_amount if self.pending_from and block >= self.pending_from else self.amount


@dataclass(frozen=True)
class Bond:
    """`IContributionBonds.Bond` of one contribution: `status` one of :data:`BOND_STATUSES`;
    `forfeitable_until_round` is 0 unless the contribution was withdrawn."""

    contribution_id: ContributionId
    amount: int
    forfeitable_until_round: int
    status: str

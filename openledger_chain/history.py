"""A model's rounds as the chain tells them: every submission, its published score list, and what became
of it (pending, vetoed, final), rebuilt from the distributor's events alone.

This is what lets anyone check a round, or claim, without the oracle's round file: the cumulative
amounts of every final round follow from the published score lists, and their Merkle tree must have the
root the distributor holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from openledger_chain.address import to_checksum_address
from openledger_chain.contracts import OpenLedger
from openledger_chain.merkle import StandardMerkleTree
from openledger_chain.rounds import Round, ScoreEntry, scores_hash

LEAF_ENCODING = ["address", "uint256"]
# BondsRootSubmitted follows RoundSubmitted in the same transaction when the round decides bonds (issue 23).
ROUND_EVENTS = ("RoundSubmitted", "BondsRootSubmitted", "ScoresPublished", "ScoresReset", "RoundVetoed",
                "RoundFinalized")


@dataclass
class RoundRecord:
    """One submission of a round, as its events tell it."""

    round: Round
    signers: list[str]
    submitter: str
    block_number: int
    status: str = "pending"  # then "vetoed" or "final"
    #: The round's score list: the oracle list that matches the round, else the one published to last.
    scores: list[ScoreEntry] = field(default_factory=list)
    #: Every oracle's own list (publisher -> entries), as it stands, the one published to last at the end.
    lists: dict[str, list[ScoreEntry]] = field(default_factory=dict)

    @property
    def published_hash(self) -> bytes:
        return scores_hash(self.scores)


def round_history(ledger: OpenLedger, model_id: int) -> list[RoundRecord]:
    """Every submission of the model's rounds, oldest first, with its published scores and status."""
    logs = [log for log in ledger.events(ledger.distributor.address, ROUND_EVENTS) if log.args["modelId"] == model_id]
    return replay_rounds(_round_step(log, model_id) for log in logs)


#: One step of a model's round timeline: ("submitted", the new record), ("scores", (publisher, entries)),
#: ("reset", publisher), ("bonds", the submitted round's bondsRoot), ("vetoed", None) or ("final", None).
RoundStep = tuple[str, "RoundRecord | tuple[str, list[ScoreEntry]] | str | bytes | None"]


def replay_rounds(timeline: Iterable[RoundStep]) -> list[RoundRecord]:
    """Replay a model's round events in chain order (from logs or from the index) into its round records."""
    records: list[RoundRecord] = []
    current: RoundRecord | None = None
    for kind, payload in timeline:
        if kind == "submitted":
            assert isinstance(payload, RoundRecord)
            current = payload
            records.append(current)
        elif current is None:
            continue  # cannot happen on a well-formed chain: every other event follows a submission
        elif kind == "scores":
            assert isinstance(payload, tuple)
            publisher, entries = payload
            own = current.lists.pop(publisher, [])  # re-inserted: the list published to last comes last
            own.extend(entries)
            current.lists[publisher] = own
        elif kind == "reset":
            assert isinstance(payload, str)
            current.lists.pop(payload, None)
            current.lists[payload] = []  # emptied, and the list touched last
        elif kind == "bonds":
            assert isinstance(payload, bytes)
            current.round = replace(current.round, bonds_root=payload)
        else:  # vetoed or final
            current.status, current = kind, None
    for record in records:
        record.scores = _round_list(record)
    return records


def _round_list(record: RoundRecord) -> list[ScoreEntry]:
    """The list that completed the round (its amounts sum to the emission and it hashes to `scoresHash`: the
    contract lets only such a list complete it), else the list published to last."""
    for entries in record.lists.values():
        if sum(e.amount for e in entries) == record.round.emission and scores_hash(entries) == record.round.scores_hash:
            return list(entries)
    return list(next(reversed(record.lists.values()), []))


def _round_step(log: Any, model_id: int) -> RoundStep:
    args = log.args
    if log.event == "RoundSubmitted":
        return "submitted", RoundRecord(
            round=Round(model_id, int(args["roundId"]), _bytes(args["merkleRoot"]), int(args["emission"]),
                        int(args["cumulativeEmission"]), _bytes(args["scoresHash"]), _bytes(args["methodHash"]),
                        _bytes(args["roundFileHash"]), int(args["deadline"])),
            signers=[to_checksum_address(s) for s in args["signers"]],
            submitter=to_checksum_address(args["submitter"]),
            block_number=log.block_number,
        )
    if log.event == "ScoresPublished":
        return "scores", (to_checksum_address(args["publisher"]),
                          [ScoreEntry(to_checksum_address(s["account"]), int(s["score"]), int(s["amount"]))
                           for s in args["scores"]])
    if log.event == "ScoresReset":
        return "reset", to_checksum_address(args["oracle"])
    if log.event == "BondsRootSubmitted":
        return "bonds", _bytes(args["bondsRoot"])
    return {"RoundVetoed": "vetoed", "RoundFinalized": "final"}[log.event], None


def _bytes(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string[2:])


def final_rounds(records: Iterable[RoundRecord]) -> list[RoundRecord]:
    return [r for r in records if r.status == "final"]


def cumulative_from_lists(records: Iterable[RoundRecord], through_round: int | None = None) -> dict[str, int]:
    """Each account's cumulative stake over the final rounds (up to `through_round`), from the published lists."""
    cumulative: dict[str, int] = {}
    for record in final_rounds(records):
        if through_round is not None and record.round.round_id > through_round:
            break
        for entry in record.scores:
            cumulative[entry.account] = cumulative.get(entry.account, 0) + entry.amount
    return cumulative


def cumulative_tree(cumulative: Mapping[str, int]) -> StandardMerkleTree:
    """The claim tree of cumulative amounts, built as `round propose` builds it (zero amounts left out)."""
    leaves = sorted(((a, v) for a, v in cumulative.items() if v > 0), key=lambda leaf: int(leaf[0], 16))
    return StandardMerkleTree.of([list(leaf) for leaf in leaves], LEAF_ENCODING)

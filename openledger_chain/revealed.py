"""Earlier rounds' evaluation sets, revealed on-chain after their rounds: which ones a round must count, and
their files.

Once a round is final its owner reveals the round's evaluation set (`revealEvaluation`: the URI where it is
published, encrypted to the committee). A revealed row is known to the committee, so a later round counts
it as the model owner's: copies of it earn nothing. Which revealed sets a round counts is fixed by the chain
and the block the proposer read (`registryBlock`): every set revealed up to that block for an earlier round.
The proposer fetches them by their URIs, signers and verifiers check the round file lists every one of them
and fetch the same files; `--revealed FILE` supplies a file instead of its fetch (offline, or a set committed
for an earlier round but not revealed on-chain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import keccak

from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import InputError
from openledger_chain.fetch import FetchSettings, fetch_contribution


@dataclass(frozen=True)
class RevealedSet:
    """An `EvaluationRevealed` event: round `round_id`'s evaluation set, published at `uri`."""

    round_id: int
    eval_hash: bytes
    uri: str
    block_number: int


def revealed_on_chain(ledger: OpenLedger, model_id: int, before_round: int, up_to_block: int) -> list[RevealedSet]:
    """The evaluation sets of rounds before `before_round` revealed up to block `up_to_block`, by round; a set
    revealed twice is listed once, at its latest URI."""
    latest: dict[int, RevealedSet] = {}
    for log in ledger.events(ledger.registry.address, ("EvaluationRevealed",)):
        args = log.args
        if int(args["modelId"]) != model_id or log.block_number > up_to_block or int(args["roundId"]) >= before_round:
            continue
        round_id = int(args["roundId"])
        latest[round_id] = RevealedSet(round_id, bytes.fromhex(args["evalHash"][2:]), args["uri"], log.block_number)
    return [latest[r] for r in sorted(latest)]


def left_out(ledger: OpenLedger, body: dict[str, Any]) -> list[RevealedSet]:
    """Sets revealed on-chain before the round file was proposed (its `registryBlock`) that it does not count."""
    counted = set(body["method"].get("revealedEvalHashes", []))
    # A file without registryBlock (older toolkits) is held to every reveal so far: omitting the field must not
    # excuse a left-out set.
    read_at = int(body["registryBlock"]) if "registryBlock" in body else int(ledger.chain.w3.eth.block_number)
    on_chain = revealed_on_chain(ledger, int(body["modelId"]), int(body["roundId"]), read_at)
    return [s for s in on_chain if "0x" + s.eval_hash.hex() not in counted]


def describe_left_out(sets: Sequence[RevealedSet]) -> str:
    first = sets[0]
    more = f" (and {len(sets) - 1} more)" if len(sets) > 1 else ""
    return (f"the proposer left out round {first.round_id}'s revealed evaluation set (0x{first.eval_hash.hex()}, "
            f"revealed at block {first.block_number} as {first.uri}){more}; it must be proposed again")


def revealed_files(wanted: Sequence[bytes], given: Sequence[Path], published: Sequence[RevealedSet],
                   fetch: FetchSettings) -> list[Path]:
    """A local file for each hash in `wanted`, in its order: a `given` file with that hash, else the set's
    fetch from the URI it was revealed at (`published`: the reveals read from the chain; checked against the
    hash; opened with the committee keys in `fetch`).

    Raises:
        InputError: a given file is not among `wanted`, or a wanted set is neither given nor fetchable.
    """
    given_by_hash = {}
    for path in given:
        if not path.is_file():
            raise InputError(f"revealed evaluation set {path} not found")
        given_by_hash[keccak(path.read_bytes())] = path
    extra = [p for h, p in given_by_hash.items() if h not in wanted]
    if extra:
        raise InputError(f"{extra[0]} is not one of the revealed evaluation sets this round counts "
                         f"({', '.join('0x' + h.hex() for h in wanted) or 'none'}); leave it out")
    by_hash = {s.eval_hash: s for s in published}
    files = []
    for digest in wanted:
        if digest in given_by_hash:
            files.append(given_by_hash[digest])
            continue
        revealed = by_hash.get(digest)
        if revealed is None:
            raise InputError(f"the round counts evaluation set 0x{digest.hex()}, which is not revealed on-chain; "
                             "give its file with --revealed FILE")
        fetched = fetch_contribution(revealed.uri, digest, fetch)
        if fetched.path is None:
            raise InputError(f"round {revealed.round_id}'s revealed evaluation set at {revealed.uri} could not be read "
                             f"({fetched.excluded}); give its file with --revealed FILE")
        files.append(fetched.path)
    return files

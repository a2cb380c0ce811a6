"""When a registration settles: the block from which no older commitment can displace it any more.

The registry gives a content hash to the earliest commitment: a registration whose commitment (its
*priority*) is older displaces one of the same content with a younger priority, but only while the displaced
one is unsettled, that is up to block `priority + REVEAL_PERIOD_BLOCKS` (ContributionRegistry `_register`:
"block.number > holder.committedAt + REVEAL_PERIOD_BLOCKS" refuses the newcomer). A round that counted a
registration still unsettled at its snapshot could pay a contribution that is displaced afterwards, so
`round propose` counts only registrations settled at its snapshot block (`registryBlock`) and leaves the
others for a later round; `verify` recomputes the same cutoff from the chain.

The priority is not stored anywhere a view returns, but the events give it exactly: a registration first
records its content claim across models (`_claimContent`), after which the claim's `committedAt` equals the
registration's priority (it emits `ContentClaimed(contentHash, contributor, priority)` when the claim changes;
when it does not, the claim was already the contributor's with that very block, N-3). So the priority of a
`ContributionRegistered` log is the `committedAt` of the last `ContentClaimed` of its content hash before it.
"""

from __future__ import annotations

from dataclasses import dataclass

from openledger_chain.contracts import OpenLedger
from openledger_chain.types import ContributionId

__all__ = ["Settlement", "settlements", "reveal_period", "unsettled_at"]


@dataclass(frozen=True)
class Settlement:
    """One registration: its priority (the commitment block it counts from), the block it was registered in,
    and `settles_at`: the last block in which it can still be displaced. A round whose snapshot block is at
    or after `settles_at` may count it (the snapshot holds that block's displacements, if any)."""

    contribution_id: ContributionId
    model_id: int
    priority: int
    registered_at: int
    settles_at: int
    active: bool  # neither withdrawn nor displaced (as the chain holds it now)

    def settled_at(self, block: int) -> bool:
        return self.settles_at <= block


def reveal_period(ledger: OpenLedger) -> int:
    """The registry's own REVEAL_PERIOD_BLOCKS (256), read from the deployed contract."""
    return int(ledger.registry.functions.REVEAL_PERIOD_BLOCKS().call())


def settlements(ledger: OpenLedger, model_id: int | None = None) -> dict[ContributionId, Settlement]:
    """Every registration (of one model if given) with the block it settles at, from one scan of the registry's
    events (its content claims across every model count, so the scan is not filtered by model)."""
    period = reveal_period(ledger)
    claims: dict[str, int] = {}
    found: dict[ContributionId, Settlement] = {}
    ended: set[int] = set()
    logs = ledger.events(ledger.registry.address,
                         ("ContentClaimed", "ContributionRegistered", "ContributionWithdrawn", "ContributionDisplaced"))
    for log in logs:  # in chain order: a registration's own ContentClaimed comes before it
        args = log.args
        if log.event == "ContentClaimed":
            claims[_key(args["contentHash"])] = int(args["committedAt"])
        elif log.event == "ContributionRegistered":
            if model_id is not None and int(args["modelId"]) != model_id:
                continue
            cid = ContributionId(int(args["contributionId"]))
            priority = claims[_key(args["contentHash"])]
            # Registered after its window closed (a priority from an older commitment in another model): it was
            # never displaceable, so it settles where it was registered.
            settles = max(priority + period, log.block_number)
            found[cid] = Settlement(cid, int(args["modelId"]), priority, log.block_number, settles, True)
        else:
            ended.add(int(args["contributionId"]))
    return {cid: s if cid not in ended else Settlement(s.contribution_id, s.model_id, s.priority, s.registered_at,
                                                       s.settles_at, False)
            for cid, s in found.items()}


def unsettled_at(found: dict[ContributionId, Settlement], block: int) -> dict[ContributionId, int]:
    """The active registrations a round with snapshot `block` must leave out: id -> the block each settles at."""
    return {cid: s.settles_at for cid, s in sorted(found.items()) if s.active and not s.settled_at(block)}


def _key(content_hash: object) -> str:
    return content_hash.lower() if isinstance(content_hash, str) else "0x" + bytes(content_hash).hex()  # type: ignore[arg-type]

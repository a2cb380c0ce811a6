"""What the read commands need, from the index instead of a chain scan: a model's rounds with their
published lists (the same `RoundRecord`s `history.round_history` rebuilds from logs), contributions,
stake balances and claims. :class:`IndexSource` hands the rounds and contributions to the oracle, the claims
and the views as an :class:`~openledger_chain.sources.EventSource` (the index when current, else the chain)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError
from web3.exceptions import BlockNotFound

from openledger_chain.history import RoundRecord, RoundStep, replay_rounds
from openledger_chain.history import round_history as chain_round_history
from openledger_chain.indexer import schema
from openledger_chain.rounds import Round, ScoreEntry
from openledger_chain.types import Contribution, ContributionId, ContributionKind, ModelId

logger = logging.getLogger(__name__)


def indexed_block(engine: Engine) -> int | None:
    with engine.connect() as connection:
        return connection.execute(select(schema.checkpoint.c.block_number)).scalar()


def round_history(engine: Engine, model_id: int) -> list[RoundRecord]:
    """Every submission of the model's rounds, oldest first, with its published list and status."""
    r, e, s = schema.rounds, schema.round_events, schema.scores
    with engine.connect() as connection:
        submitted = connection.execute(select(r).where(r.c.model_id == model_id)).all()
        events = connection.execute(select(e).where(e.c.model_id == model_id)).all()
        published = connection.execute(select(s).where(s.c.model_id == model_id)).all()
    timeline = sorted([("submitted", x) for x in submitted] + [(x.event, x) for x in events]
                      + [("scores", x) for x in published],
                      key=lambda item: (item[1].block_number, item[1].log_index, getattr(item[1], "position", 0)))
    return replay_rounds(_round_step(kind, row, model_id) for kind, row in timeline)


def _round_step(kind: str, row: Any, model_id: int) -> RoundStep:
    if kind == "submitted":
        return kind, RoundRecord(
            round=Round(model_id, row.round_id, bytes.fromhex(row.merkle_root[2:]), row.emission,
                        row.cumulative_emission, bytes.fromhex(row.scores_hash[2:]),
                        bytes.fromhex(row.method_hash[2:]), bytes.fromhex(row.round_file_hash[2:]),
                        row.deadline),
            signers=row.signers.split(",") if row.signers else [], submitter=row.submitter,
            block_number=row.block_number)
    if kind == "scores":
        return kind, (row.publisher, [ScoreEntry(row.account, row.score, row.amount)])
    if kind == "reset":
        return kind, row.publisher
    return kind, None  # vetoed or final


def contributions(engine: Engine, model_id: int | None = None) -> list[Contribution]:
    c, ch = schema.contributions, schema.contribution_changes
    with engine.connect() as connection:
        query = select(c) if model_id is None else select(c).where(c.c.model_id == model_id)
        rows = connection.execute(query.order_by(c.c.contribution_id)).all()
        changes = {(x.contribution_id, x.change) for x in connection.execute(select(ch))}
    return [Contribution(ContributionId(x.contribution_id), ModelId(x.model_id), x.contributor,
                         ContributionKind(x.kind), bytes.fromhex(x.content_hash[2:]), x.uri, x.block_number,
                         withdrawn=(x.contribution_id, "withdrawn") in changes,
                         displaced=(x.contribution_id, "displaced") in changes) for x in rows]


def balances(engine: Engine, model_id: int) -> dict[str, int]:
    """Every account's stake balance in the model, from its transfers (mints come from the zero address)."""
    t = schema.stake_transfers
    out: dict[str, int] = {}
    with engine.connect() as connection:
        for row in connection.execute(select(t.c.sender, t.c.recipient, t.c.value).where(t.c.model_id == model_id)):
            out[row.sender] = out.get(row.sender, 0) - row.value
            out[row.recipient] = out.get(row.recipient, 0) + row.value
    out.pop("0x" + "00" * 20, None)
    return {a: v for a, v in out.items() if v != 0}


def claimed(engine: Engine, model_id: int, account: str) -> int:
    cl = schema.claims
    with engine.connect() as connection:
        latest = connection.execute(select(cl.c.cumulative_amount).where(cl.c.model_id == model_id,
                                                                         cl.c.account == account)).all()
    return max((row.cumulative_amount for row in latest), default=0)


def round_history_or_chain(ledger: Any, model_id: int, engine: Engine | None) -> list[RoundRecord]:
    """The model's rounds from the index when it has caught up with what the distributor holds (the final
    round and its root, the pending round and its published count), else from a chain scan."""
    if engine is not None and of_this_deployment(ledger, engine):
        records = round_history(engine, model_id)
        if _rounds_current(ledger, model_id, records):
            return records
    return chain_round_history(ledger, model_id)


def contributions_or_chain(ledger: Any, model_id: int | None, engine: Engine | None) -> list[Contribution]:
    """Contributions from the index when it holds all the registry counts (and every change), else the chain."""
    if engine is not None and of_this_deployment(ledger, engine):
        indexed = contributions(engine, model_id)
        with engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(schema.contributions)).scalar()
            checkpoint = connection.execute(select(schema.checkpoint.c.block_number)).scalar() or 0
        # The count proves no registration is missing; withdrawals and displacements need the index current.
        if total == int(ledger.registry.functions.contributionCount().call()) and \
                checkpoint >= int(ledger.chain.w3.eth.block_number):
            return indexed
    return ledger.contributions(model_id)


@dataclass(frozen=True)
class IndexSource:
    """An :class:`~openledger_chain.sources.EventSource` that reads the index `engine` where it has caught up
    with `ledger`'s chain and deployment, else scans the chain (:func:`round_history_or_chain`,
    :func:`contributions_or_chain`)."""

    ledger: Any
    engine: Engine

    def rounds(self, model_id: int) -> list[RoundRecord]:
        return round_history_or_chain(self.ledger, model_id, self.engine)

    def contributions(self, model_id: int | None) -> list[Contribution]:
        return contributions_or_chain(self.ledger, model_id, self.engine)


def of_this_deployment(ledger: Any, engine: Engine) -> bool:
    """Whether the index is of the ledger's chain and deployment, as `index run` recorded them: an index of a
    node restarted without its state, or of an earlier deployment at the same addresses, must not answer for
    this one. (An index made before that record existed is judged by the catch-up checks alone.)"""
    try:
        with engine.connect() as connection:
            known = connection.execute(select(schema.indexed_chain)).first()
    except DBAPIError:  # an index older than the table, not migrated yet
        return True
    if known is None:
        return True
    try:
        first_hash = "0x" + bytes(ledger.chain.w3.eth.get_block(known.first_block)["hash"]).hex()
    except BlockNotFound:  # a chain without that block is another chain
        first_hash = None
    if (known.chain_id, known.registry, known.distributor, known.first_block_hash) == (
            ledger.chain.chain_id, ledger.registry.address, ledger.distributor.address, first_hash):
        return True
    logger.warning("the index is of another chain or deployment; reading the chain instead "
                   "(`openledger index run --reset` indexes this one)")
    return False


def _rounds_current(ledger: Any, model_id: int, records: list[RoundRecord]) -> bool:
    root, final_id, _, _ = ledger.distributor.functions.finalizedRound(model_id).call()
    final = [r for r in records if r.status == "final"]
    if (final[-1].round.round_id if final else 0) != final_id:
        return False
    if final and final[-1].round.merkle_root != bytes(root):
        return False
    pending = ledger.pending_round(model_id)
    open_records = [r for r in records if r.status == "pending"]
    if pending.round_id == 0:
        return not open_records
    if not open_records or open_records[-1].round.round_id != pending.round_id:
        return False
    # Every oracle's list as indexed must be its list on-chain (one call per oracle that published).
    lists = open_records[-1].lists
    return all(len(entries) == ledger.score_list(model_id, publisher).count for publisher, entries in lists.items())


# ----- the h-v4 contracts' events (schema version 5)


@dataclass(frozen=True)
class IndexedBond:
    """One contribution's bond as its events tell it (`IContributionBonds.BondStatus`, by name): `held` until a
    final round decides it, `released` or `forfeited` then, `paid` once its contributor took it back (`refund`:
    the refund of a withdrawn contribution's bond). `decided_in` is the deciding round; `forfeitable_until` the
    last round that may still forfeit a withdrawn contribution's bond (None: not withdrawn)."""

    contribution_id: ContributionId
    model_id: ModelId
    contributor: str
    amount: int
    status: str
    decided_in: int | None = None
    forfeitable_until: int | None = None
    refund: bool = False
    posted_block: int = 0


def bonds_of(engine: Engine, contributor: str | None = None, model_id: int | None = None) -> list[IndexedBond]:
    """The bonds posted (by `contributor`, in `model_id`, when given), by contribution id, each with its status."""
    b, e = schema.bonds, schema.bond_events
    query = select(b)
    if contributor is not None:
        query = query.where(b.c.contributor == contributor)
    if model_id is not None:
        query = query.where(b.c.model_id == model_id)
    with engine.connect() as connection:
        posted = connection.execute(query.order_by(b.c.contribution_id)).all()
        ids = [row.contribution_id for row in posted]
        events = connection.execute(select(e).where(e.c.contribution_id.in_(ids))
                                    .order_by(e.c.block_number, e.c.log_index)).all() if ids else []
    by_id: dict[int, list[Any]] = {}
    for event in events:
        by_id.setdefault(event.contribution_id, []).append(event)
    out = []
    for row in posted:
        status, decided_in, until, refund = "held", None, None, False
        for event in by_id.get(row.contribution_id, []):  # in chain order: the last status change stands
            if event.event in ("released", "forfeited"):
                status, decided_in = event.event, event.round_id
            elif event.event == "refund_scheduled":
                until = event.round_id
            elif event.event == "claimed":
                status, refund = "paid", bool(event.refund)
        out.append(IndexedBond(ContributionId(row.contribution_id), ModelId(row.model_id), row.contributor,
                               row.amount, status, decided_in, until, refund, row.block_number))
    return out


def bond_policy_history(engine: Engine, model_id: int) -> list[tuple[int, int]]:
    """The model's bond policies as set, oldest first: (amount, block it applies from)."""
    p = schema.bond_policies
    with engine.connect() as connection:
        rows = connection.execute(select(p.c.amount, p.c.effective_from).where(p.c.model_id == model_id)
                                  .order_by(p.c.block_number, p.c.log_index)).all()
    return [(int(r.amount), int(r.effective_from)) for r in rows]


def evaluation_sets(engine: Engine, model_id: int) -> dict[int, dict[str, Any]]:
    """Each round's evaluation set as the chain holds it now: the last committed hash (a replacement's, when a new
    owner replaced a predecessor's), the hashes it replaced, and where it was revealed (None while it is not)."""
    ev = schema.evaluations
    with engine.connect() as connection:
        rows = connection.execute(select(ev).where(ev.c.model_id == model_id)
                                  .order_by(ev.c.block_number, ev.c.log_index)).all()
    sets: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row.event == "committed":
            entry = sets.setdefault(row.round_id, {"replaced": []})
            entry |= {"eval_hash": row.eval_hash, "committed_block": row.block_number, "revealed_uri": None}
        elif row.event == "replaced" and row.round_id in sets:
            sets[row.round_id]["replaced"].append(row.previous_eval_hash)
        elif row.event == "revealed" and row.round_id in sets:
            sets[row.round_id]["revealed_uri"] = row.uri
    return sets


def skipped_batch_entries(engine: Engine, contributor: str | None = None) -> list[dict[str, Any]]:
    """Relayed batch entries the registry skipped because their contributor already held the content (each with
    the contribution that holds it), oldest first."""
    k = schema.batch_skips
    query = select(k) if contributor is None else select(k).where(k.c.contributor == contributor)
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(k.c.block_number, k.c.log_index)).all()
    return [{"model_id": r.model_id, "index": r.entry_index, "contributor": r.contributor,
             "contribution_id": r.contribution_id, "tx_hash": r.tx_hash, "block_number": r.block_number}
            for r in rows]


def content_claim(engine: Engine, content_hash: str) -> tuple[str, int] | None:
    """Who holds `content_hash` across models and from which commitment block (the last `ContentClaimed`)."""
    c = schema.content_claims
    with engine.connect() as connection:
        row = connection.execute(select(c).where(c.c.content_hash == content_hash)
                                 .order_by(c.c.block_number.desc(), c.c.log_index.desc()).limit(1)).first()
    return None if row is None else (row.contributor, int(row.committed_at))


# ----- schema version 6: the owner's fees and bond permits


def owner_fees_pending(engine: Engine, owner: str, token: str) -> int:
    """What `owner` may still withdraw in `token`: credited minus withdrawn (the registry's `ownerFees`)."""
    f = schema.owner_fees
    with engine.connect() as connection:
        rows = connection.execute(select(f.c.event, f.c.amount).where(f.c.owner == owner, f.c.token == token)).all()
    return sum(int(r.amount) if r.event == "credited" else -int(r.amount) for r in rows)


def bond_permits_of(engine: Engine, contributor: str) -> list[dict[str, Any]]:
    """The bond permits relayed registrations tried for `contributor`, oldest first (`accepted` False: the permit
    failed, e.g. used already or front-run, and the registration went on the allowance alone)."""
    p = schema.bond_permits
    with engine.connect() as connection:
        rows = connection.execute(select(p).where(p.c.contributor == contributor)
                                  .order_by(p.c.block_number, p.c.log_index)).all()
    return [{"token": r.token, "value": int(r.value), "deadline": int(r.deadline), "accepted": bool(r.accepted),
             "tx_hash": r.tx_hash, "block_number": r.block_number} for r in rows]

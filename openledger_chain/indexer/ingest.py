"""Ingestion: the registry's, the distributor's and every stake token's events into SQL, batch by batch.

Each batch is one `eth_getLogs` block range (shrunk when the node refuses it) and one database
transaction that also moves the checkpoint, so a crash at any point leaves the index at the end of the
last committed batch: resuming re-reads from there, and the (tx_hash, log_index) keys make any re-read
log a no-op. Only blocks with `confirmations` confirmations are indexed. Before every batch the
checkpoint's block hash is compared with the chain; on a mismatch the index is rolled back to the last
stored block the chain still has, and re-indexed from there.

Nothing is rolled back before the node has shown that it still holds the indexed chain and deployment
(the `indexed_chain` row: chain id, genesis hash, the hash of the deployment's first block, the
addresses). A node restarted without its state, or a new deployment at the same addresses, is refused with
`IndexMismatchError` instead of being taken for a reorganisation of every block, which would empty the
index; `clear_index` starts over on purpose. A node that stops answering raises `NodeUnreachableError`;
`Indexer.follow` waits for it and resumes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from openledger_chain.build import load_artifact
from openledger_chain.chain import transient_reason
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import NodeUnreachableError, OpenLedgerError
from openledger_chain.indexer import schema
from openledger_chain.logs import DEFAULT_MAX_RANGE, DecodedLog, EventDecoder, get_logs

Progress = Callable[[int, int], None]  # (indexed block, target block)
#: Reads of one block range before giving up when the chain keeps reorganising under it.
_READ_ATTEMPTS = 5
#: While the node does not answer, `follow` tries it again after the poll interval, doubling up to this (s).
MAX_NODE_WAIT = 10.0

logger = logging.getLogger(__name__)
T = TypeVar("T")


class IndexerError(OpenLedgerError):
    """The database belongs to another chain or deployment, is newer than this toolkit, or the chain would
    not hold still long enough to read a block range."""


class IndexMismatchError(IndexerError):
    """The database indexes another chain or deployment than the one given; `mismatch` says what differs.
    Nothing was changed: use another database, or `clear_index` this one first."""

    def __init__(self, mismatch: str) -> None:
        super().__init__(f"this database indexes another chain or deployment: {mismatch}; use another --db, or "
                         "`openledger index run --reset` to clear it and index this one")
        self.mismatch = mismatch


@dataclass(frozen=True)
class IndexStatus:
    head: int
    target: int  # the newest block with enough confirmations
    indexed: int | None  # the checkpoint: every log up to this block is in the database
    rows: dict[str, int]

    @property
    def lag(self) -> int:
        return self.target - (self.indexed if self.indexed is not None else -1)


class Indexer:
    """Indexes one deployment (registry, distributor, stake tokens) of one chain into one database.

    Raises (on construction):
        IndexMismatchError: the database indexes another chain or deployment.
        NodeUnreachableError: the node does not answer.
    """

    def __init__(self, ledger: OpenLedger, engine: Engine, *, confirmations: int = 0,
                 batch_blocks: int = DEFAULT_MAX_RANGE) -> None:
        self.w3 = ledger.chain.w3
        self.node_url = ledger.chain.rpc_url or ledger.chain.network
        self.chain_id = ledger.chain.chain_id
        self.registry = ledger.registry.address
        self.distributor = ledger.distributor.address
        self.first_block = ledger._first_block
        self.engine = engine
        self.confirmations = confirmations
        self.batch_blocks = batch_blocks
        #: True while `follow` waits for a node that stopped answering.
        self.waiting_for_node = False
        self.decoder = EventDecoder(load_artifact(n).abi for n in
                                    ("ContributionRegistry", "RewardDistributor", "ModelStakeToken",
                                     "ContributionBonds"))
        with engine.begin() as connection:
            try:
                schema.migrate(connection)
            except RuntimeError as exc:
                raise IndexerError(str(exc)) from exc
        self._verified = False  # the node has shown it is the indexed chain (again, after an outage)
        self._on_node(self._verify)

    # ----- reading the state of the index

    def status(self) -> IndexStatus:
        head = self._on_node(lambda: int(self.w3.eth.block_number))
        indexed, rows = self.indexed()
        return IndexStatus(head, max(head - self.confirmations, -1), indexed, rows)

    def indexed(self) -> tuple[int | None, dict[str, int]]:
        """The checkpoint and each event table's row count, from the database alone."""
        with self.engine.connect() as connection:
            rows = {t.name: int(connection.execute(select(func.count()).select_from(t)).scalar() or 0)
                    for t in schema.EVENT_TABLES}
            return self._checkpoint(connection), rows

    # ----- indexing

    def run(self, progress: Progress | None = None) -> int:
        """Index every confirmed block not indexed yet; returns the checkpoint block.

        Raises:
            NodeUnreachableError: the node stopped answering (every committed batch stays).
            IndexMismatchError: the node is on another chain than the index (it was restarted without its
                state, say); nothing is deleted.
        """
        return self._on_node(lambda: self._run(progress))

    def _run(self, progress: Progress | None) -> int:
        if not self._verified:
            self._verify()
        target = int(self.w3.eth.block_number) - self.confirmations
        while True:
            with self.engine.begin() as connection:
                self._rollback_if_reorganised(connection)
                done = self._checkpoint(connection)
            start = self.first_block if done is None else done + 1
            if start > target:
                return done if done is not None else self.first_block - 1
            end = min(start + self.batch_blocks - 1, target)
            self._index_range(start, end)
            if progress:
                progress(end, target)

    def follow(self, poll_seconds: float = 2.0, progress: Progress | None = None,
               should_stop: Callable[[], bool] = lambda: False, *, notify: Callable[[str], None] = logger.warning,
               max_wait: float = MAX_NODE_WAIT) -> None:
        """Keep indexing new blocks until `should_stop()` (or Ctrl-C, which the caller catches).

        A node that stops answering is waited for: tried again after `poll_seconds`, then at doubling
        intervals up to `max_wait`, one request per try (the provider's own retries are off meanwhile: this
        loop is the retry). `notify` gets one line when the node goes away and one when it is back; indexing
        then resumes from the checkpoint, once the node has shown it still holds the indexed chain.

        Raises:
            IndexMismatchError: the node came back with another chain or deployment; nothing is deleted.
        """
        provider = self.w3.provider
        saved_retries = getattr(provider, "retries", None)
        if saved_retries is not None:
            provider.retries = 0
        try:
            while not should_stop():
                try:
                    self.run(progress)
                except NodeUnreachableError as exc:
                    if not self._wait_for_node(exc.reason, poll_seconds, max(max_wait, poll_seconds), should_stop,
                                               notify):
                        return
                    continue
                time.sleep(poll_seconds)
        finally:
            if saved_retries is not None:
                provider.retries = saved_retries

    def _wait_for_node(self, reason: str, poll_seconds: float, max_wait: float, should_stop: Callable[[], bool],
                       notify: Callable[[str], None]) -> bool:
        """Wait until the node answers again (True), or until `should_stop()` (False)."""
        self._verified = False  # whatever answers next must show it is still the indexed chain
        self.waiting_for_node = True
        notify(f"node at {self.node_url} unreachable ({reason}); retrying every {poll_seconds:g} s, backing off to "
               f"every {max_wait:g} s (Ctrl-C stops)")
        started, delay = time.monotonic(), poll_seconds
        while not should_stop():
            time.sleep(delay)
            try:
                head = int(self.w3.eth.block_number)
            except Exception as exc:  # noqa: BLE001 - classified: only a node that does not answer is waited for
                if transient_reason(exc) is None:
                    raise
                delay = min(delay * 2, max_wait)
                continue
            self.waiting_for_node = False
            notify(f"node back at block {head} after {time.monotonic() - started:.0f} s; resuming")
            return True
        return False

    def _index_range(self, start: int, end: int) -> None:
        """Read [start, end] (in as many node requests as it takes) and store it in one transaction.

        The logs are stored only if block `end` has the same hash before and after they were read: a
        reorganisation in between would pair logs of the old branch with a checkpoint of the new one,
        which no later run could tell apart (red team). Such a read is retried."""
        for _ in range(_READ_ATTEMPTS):
            end_hash = "0x" + bytes(self.w3.eth.get_block(end)["hash"]).hex()
            decoded, tokens, vaults = self._read_range(start, end)
            if "0x" + bytes(self.w3.eth.get_block(end)["hash"]).hex() == end_hash and \
                    all(d.block_hash == end_hash for d in decoded if d.block_number == end):
                break
        else:
            raise IndexerError(f"blocks {start}-{end} kept reorganising while being read; run the indexer again")
        self._store(decoded, tokens, vaults, end, end_hash)

    def _read_range(self, start: int, end: int) -> tuple[list[DecodedLog], dict[str, int], set[str]]:
        """The decoded logs of [start, end] (registry, distributor, every stake token and bond vault), the tokens
        and the vaults."""
        with self.engine.connect() as connection:
            tokens = self._stake_tokens(connection)
            vaults = self._bond_vaults(connection)
        decoded: list[DecodedLog] = []
        for _, _, logs in get_logs(self.w3, [self.registry, self.distributor, *tokens, *vaults], start, end,
                                   self.batch_blocks):
            decoded.extend(d for d in map(self.decoder.decode, logs) if d is not None)
        # A bond vault the registry names in this range: its logs from the deployment's first block, since its
        # owners may set bond policies before the registry names it (re-read rows are no-ops).
        for vault in {d.args["bondVault"] for d in decoded if d.event == "BondVaultSet" and d.address == self.registry}:
            if vault not in vaults:
                for _, _, logs in get_logs(self.w3, [vault], self.first_block, end, self.batch_blocks):
                    decoded.extend(d for d in map(self.decoder.decode, logs) if d is not None)
                vaults.add(vault)
        # Stake tokens created in this range: their own logs, from the block that created them.
        new_tokens = {d.args["stakeToken"]: (d.args["modelId"], d.block_number) for d in decoded
                      if d.event == "ModelRegistered" and d.address == self.registry}
        for token, (_, created) in new_tokens.items():
            for _, _, logs in get_logs(self.w3, [token], created, end, self.batch_blocks):
                decoded.extend(d for d in map(self.decoder.decode, logs) if d is not None)
        tokens |= {token: model_id for token, (model_id, _) in new_tokens.items()}
        decoded.sort(key=lambda d: (d.block_number, d.log_index))
        return decoded, tokens, vaults

    def _store(self, decoded: list[DecodedLog], tokens: dict[str, int], vaults: set[str], end: int,
               end_hash: str) -> None:
        with self.engine.connect() as connection:
            recorded = connection.execute(select(schema.indexed_chain.c.id)).first() is not None
        identity = None if recorded else self._identity()
        with self.engine.begin() as connection:
            if identity is not None:  # the first batch records which chain and deployment the index is of
                connection.execute(schema.indexed_chain.insert().values(identity))
            for table, rows in _rows_by_table(decoded, self.registry, self.distributor, tokens, vaults).items():
                self._insert_ignoring_duplicates(connection, table, rows)
            hashes = {d.block_number: d.block_hash for d in decoded} | {end: end_hash}
            self._insert_ignoring_duplicates(connection, schema.blocks,
                                             [{"block_number": n, "block_hash": h} for n, h in hashes.items()],
                                             key=["block_number"])
            connection.execute(delete(schema.checkpoint))
            connection.execute(schema.checkpoint.insert().values(
                id=1, chain_id=self.chain_id, registry=self.registry, block_number=end, block_hash=end_hash))

    def _rollback_if_reorganised(self, connection: Connection) -> None:
        row = connection.execute(select(schema.checkpoint)).first()
        if row is None or self._chain_hash(row.block_number) == row.block_hash:
            return
        # Another chain is not a reorganisation of this one: rolling it back would delete every row.
        mismatch = self._mismatch(connection)
        if mismatch is not None:
            raise IndexMismatchError(mismatch)
        fork = self.first_block - 1
        stored = connection.execute(select(schema.blocks).where(schema.blocks.c.block_number <= row.block_number)
                                    .order_by(schema.blocks.c.block_number.desc())).all()
        for block in stored:
            if self._chain_hash(block.block_number) == block.block_hash:
                fork = block.block_number
                break
        removed = sum(connection.execute(delete(table).where(table.c.block_number > fork)).rowcount or 0
                      for table in schema.EVENT_TABLES)
        connection.execute(delete(schema.blocks).where(schema.blocks.c.block_number > fork))
        connection.execute(delete(schema.checkpoint))
        if fork >= self.first_block:
            connection.execute(schema.checkpoint.insert().values(
                id=1, chain_id=self.chain_id, registry=self.registry, block_number=fork,
                block_hash=self._chain_hash(fork)))
        logger.warning("the chain no longer holds block %d as indexed (a reorganisation, or a node restored from "
                       "an older state): rolled back to block %d, %d rows removed, re-indexing from there",
                       row.block_number, fork, removed)

    # ----- which chain and deployment the index is of

    def _verify(self) -> None:
        """Raise IndexMismatchError unless the node and the deployment are the ones the database indexes."""
        with self.engine.begin() as connection:
            mismatch = self._mismatch(connection)
        if mismatch is not None:
            raise IndexMismatchError(mismatch)
        self._verified = True

    def _mismatch(self, connection: Connection) -> str | None:
        """What differs between the index and this node and deployment, or None. An index made before the
        `indexed_chain` table existed is recorded as of this chain when the chain still holds its blocks."""
        point = connection.execute(select(schema.checkpoint)).first()
        known = connection.execute(select(schema.indexed_chain)).first()
        if known is not None:
            if known.chain_id != self.chain_id:
                return f"chain id {known.chain_id} in the index, {self.chain_id} on the node"
            genesis = self._chain_hash(0)
            if genesis != known.genesis_hash:
                return (f"the genesis block is {_short(known.genesis_hash)} in the index but {_short(genesis)} on "
                        f"the node (both chain id {self.chain_id}: a node restarted without its state?)")
            first = self._chain_hash(known.first_block)
            if first != known.first_block_hash:
                return (f"block {known.first_block}, where the indexed deployment starts, is "
                        f"{_short(known.first_block_hash)} in the index but {_short(first)} on the node")
            if (known.registry, known.distributor) != (self.registry, self.distributor):
                return (f"registry {known.registry} and distributor {known.distributor} in the index, "
                        f"{self.registry} and {self.distributor} in the deployment file")
        if point is not None and (point.chain_id, point.registry) != (self.chain_id, self.registry):
            return (f"chain id {point.chain_id} and registry {point.registry} in the index, chain id "
                    f"{self.chain_id} and registry {self.registry} on the node and in the deployment file")
        if known is None and point is not None:  # an index made before version 3
            if not self._holds_indexed_blocks(connection, point):
                return (f"block {point.block_number} is {_short(point.block_hash)} in the index but "
                        f"{_short(self._chain_hash(point.block_number))} on the node, and no indexed block is on it")
            connection.execute(schema.indexed_chain.insert().values(self._identity()))  # it is of this chain
        return None

    def _holds_indexed_blocks(self, connection: Connection, point: Any) -> bool:
        """The chain still has the checkpoint block, or the first indexed block (a reorganisation since)."""
        if self._chain_hash(point.block_number) == point.block_hash:
            return True
        earliest = connection.execute(select(schema.blocks).order_by(schema.blocks.c.block_number).limit(1)).first()
        return earliest is not None and self._chain_hash(earliest.block_number) == earliest.block_hash

    def _identity(self) -> dict[str, Any]:
        return {"id": 1, "chain_id": self.chain_id, "genesis_hash": self._chain_hash(0),
                "first_block": self.first_block, "first_block_hash": self._chain_hash(self.first_block),
                "registry": self.registry, "distributor": self.distributor}

    # ----- helpers

    def _on_node(self, call: Callable[[], T]) -> T:
        """`call()`, with a node that stopped answering (after the provider's retries) as NodeUnreachableError."""
        try:
            return call()
        except Exception as exc:
            reason = transient_reason(exc)
            if reason is None:
                raise
            indexed, _ = self.indexed()
            saved = f"the index is saved to block {indexed}" if indexed is not None else "nothing is indexed yet"
            raise NodeUnreachableError(f"the node at {self.node_url} does not answer ({reason}); {saved}: run "
                                       "`openledger index run` again once it is back", reason) from exc

    def _chain_hash(self, number: int) -> str | None:
        """The hash of the chain's block `number`, None when the node has no such block. A node that does not
        answer is an error, never a block that differs (that would roll the index back)."""
        try:
            return "0x" + bytes(self.w3.eth.get_block(number)["hash"]).hex()
        except Exception as exc:  # noqa: BLE001 - a block the node no longer has differs from ours by definition
            if transient_reason(exc) is not None:
                raise
            return None

    @staticmethod
    def _checkpoint(connection: Connection) -> int | None:
        return connection.execute(select(schema.checkpoint.c.block_number)).scalar()

    @staticmethod
    def _bond_vaults(connection: Connection) -> set[str]:
        return set(connection.execute(select(schema.bond_vaults.c.vault)).scalars())

    @staticmethod
    def _stake_tokens(connection: Connection) -> dict[str, int]:
        return {r.stake_token: r.model_id for r in connection.execute(select(schema.models.c.stake_token,
                                                                             schema.models.c.model_id))}

    def _insert_ignoring_duplicates(self, connection: Connection, table: Any, rows: list[dict[str, Any]],
                                    key: Iterable[str] | None = None) -> None:
        if not rows:
            return
        dialect = connection.dialect.name
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
        if key is None:
            unique = next(c for c in table.constraints if c.name and c.name.startswith("uq_"))
            key = [c.name for c in unique.columns]
        connection.execute(statement.on_conflict_do_nothing(index_elements=list(key)), rows)


def clear_index(engine: Engine) -> int:
    """Delete every row of the index (events, block hashes, checkpoint, the chain it was of), in one
    transaction; returns how many event rows there were. For `index run --reset` only."""
    with engine.begin() as connection:
        removed = sum(connection.execute(delete(table)).rowcount or 0 for table in schema.EVENT_TABLES)
        for table in (schema.blocks, schema.checkpoint, schema.indexed_chain):
            connection.execute(delete(table))
    return removed


def _short(block_hash: str | None) -> str:
    return "no such block" if block_hash is None else block_hash[:10] + "…"


def _rows_by_table(logs: list[DecodedLog], registry: str, distributor: str, tokens: dict[str, int],
                   vaults: set[str] = frozenset()) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}

    def add(table: Any, log: DecodedLog, **values: Any) -> None:
        out.setdefault(table, []).append(
            {"block_number": log.block_number, "tx_hash": log.tx_hash, "log_index": log.log_index, **values})

    for log in logs:
        a, event = log.args, log.event
        if log.address == registry:
            if event == "ModelRegistered":
                add(schema.models, log, model_id=a["modelId"], owner=a["owner"], stake_token=a["stakeToken"],
                    payment_token=a["paymentToken"], contributor_share_bps=a["contributorShareBps"],
                    emission_per_round=a["emissionPerRound"], max_emission=a["maxEmission"], spec_hash=a["specHash"],
                    spec_uri=a["specURI"], name=a["name"], symbol=a["symbol"])
            elif event == "ModelOwnershipTransferred":
                add(schema.model_owners, log, model_id=a["modelId"], previous_owner=a["previousOwner"],
                    new_owner=a["newOwner"])
            elif event == "ContributionRegistered":
                add(schema.contributions, log, contribution_id=a["contributionId"], model_id=a["modelId"],
                    contributor=a["contributor"], kind=a["kind"], content_hash=a["contentHash"], uri=a["uri"])
            elif event == "ContributionWithdrawn":
                add(schema.contribution_changes, log, contribution_id=a["contributionId"], model_id=a["modelId"],
                    change="withdrawn", by_contribution_id=None)
            elif event == "ContributionDisplaced":
                add(schema.contribution_changes, log, contribution_id=a["contributionId"], model_id=a["modelId"],
                    change="displaced", by_contribution_id=a["byContributionId"])
            elif event == "ContributionCommitted":
                add(schema.commitments, log, commitment=a["commitment"], committer=a["committer"])
            elif event in ("EvaluationCommitted", "EvaluationRevealed", "EvaluationReplaced"):
                add(schema.evaluations, log, model_id=a["modelId"], round_id=a["roundId"],
                    event=event.removeprefix("Evaluation").lower(), eval_hash=a["evalHash"], uri=a.get("uri"),
                    previous_eval_hash=a.get("previousEvalHash"))
            elif event == "ContentClaimed":
                add(schema.content_claims, log, content_hash=a["contentHash"], contributor=a["contributor"],
                    committed_at=a["committedAt"])
            elif event == "BatchEntrySkipped":
                add(schema.batch_skips, log, model_id=a["modelId"], entry_index=a["index"],
                    contributor=a["contributor"], contribution_id=a["contributionId"])
            elif event == "BondVaultSet":
                add(schema.bond_vaults, log, vault=a["bondVault"])
            elif event == "OwnerFeesCredited":
                add(schema.owner_fees, log, event="credited", model_id=a["modelId"], owner=a["owner"],
                    token=a["token"], recipient=None, amount=a["amount"])
            elif event == "OwnerFeesWithdrawn":
                add(schema.owner_fees, log, event="withdrawn", model_id=None, owner=a["owner"], token=a["token"],
                    recipient=a["to"], amount=a["amount"])
            elif event == "UsagePaid":
                add(schema.usage_payments, log, model_id=a["modelId"], payer=a["payer"], amount=a["amount"],
                    owner_amount=a["ownerAmount"], holders_amount=a["holdersAmount"])
        elif log.address == distributor:
            if event == "RoundSubmitted":
                add(schema.rounds, log, model_id=a["modelId"], round_id=a["roundId"], merkle_root=a["merkleRoot"],
                    emission=a["emission"], cumulative_emission=a["cumulativeEmission"], scores_hash=a["scoresHash"],
                    method_hash=a["methodHash"], round_file_hash=a["roundFileHash"], deadline=a["deadline"],
                    submitter=a["submitter"],
                    signers=",".join(a["signers"]))
            elif event == "ScoresPublished":
                for offset, entry in enumerate(a["scores"]):
                    add(schema.scores, log, model_id=a["modelId"], round_id=a["roundId"],
                        position=a["firstIndex"] + offset, account=entry["account"], score=entry["score"],
                        amount=entry["amount"], publisher=a["publisher"])
            elif event in ("ScoresReset", "RoundVetoed", "RoundFinalized"):
                value = a.get("digest") or a.get("merkleRoot")
                add(schema.round_events, log, model_id=a["modelId"], round_id=a["roundId"],
                    event={"ScoresReset": "reset", "RoundVetoed": "vetoed", "RoundFinalized": "final"}[event],
                    value=value, publisher=a.get("oracle"))
            elif event == "Claimed":
                add(schema.claims, log, model_id=a["modelId"], account=a["account"], amount=a["amount"],
                    cumulative_amount=a["cumulativeAmount"])
        elif log.address in vaults:
            if event == "BondPolicySet":
                add(schema.bond_policies, log, model_id=a["modelId"], amount=a["amount"],
                    effective_from=a["effectiveFrom"])
            elif event == "BondPosted":
                add(schema.bonds, log, contribution_id=a["contributionId"], model_id=a["modelId"],
                    contributor=a["contributor"], amount=a["amount"])
            elif event in ("BondReleased", "BondForfeited"):
                add(schema.bond_events, log, contribution_id=a["contributionId"],
                    event=event.removeprefix("Bond").lower(), round_id=a["roundId"], amount=a["amount"], refund=None)
            elif event == "BondRefundScheduled":
                add(schema.bond_events, log, contribution_id=a["contributionId"], event="refund_scheduled",
                    round_id=a["forfeitableUntilRound"], amount=None, refund=None)
            elif event == "BondPermitUsed":
                add(schema.bond_permits, log, contributor=a["contributor"], token=a["token"], value=a["value"],
                    deadline=a["deadline"], accepted=int(a["accepted"]))
            elif event == "BondClaimed":
                add(schema.bond_events, log, contribution_id=a["contributionId"], event="claimed", round_id=None,
                    amount=a["amount"], refund=int(a["refund"]))
        elif log.address in tokens:
            model_id = tokens[log.address]
            if event == "Transfer":
                add(schema.stake_transfers, log, model_id=model_id, sender=a["from"], recipient=a["to"],
                    value=a["value"])
            elif event == "FeesWithdrawn":
                add(schema.fee_events, log, model_id=model_id, event="withdrawn", account=a["account"],
                    amount=a["amount"], value=a["remaining"])
            elif event in ("FeesAccrued", "FeesHeld", "FeePeriodStarted"):
                amount, value = {"FeesAccrued": ("amount", "feePerShare"), "FeesHeld": ("amount", "heldTotal"),
                                 "FeePeriodStarted": ("feeSupply", "claimStartFeePerShare")}[event]
                add(schema.fee_events, log, model_id=model_id,
                    event={"FeesAccrued": "accrued", "FeesHeld": "held", "FeePeriodStarted": "period"}[event],
                    account=None, amount=a[amount], value=a[value])
    return out

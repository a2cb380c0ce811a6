"""The index's tables (SQLAlchemy Core), their schema version and the migrations between versions.

Every event table is append-only and keyed by the log that wrote it (`tx_hash`, `log_index`, unique), with
its `block_number`: re-indexing a log is a no-op, and rolling back a reorganised chain is one `DELETE ...
WHERE block_number > fork` per table. State (round status, balances, claimable stake) is derived from the
events when read. 256-bit integers are NUMERIC(78, 0) on PostgreSQL and decimal text on SQLite (whose
integers stop at 2^63).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 6


class Uint256(TypeDecorator):
    """A uint256 (or int256): NUMERIC(78, 0) on PostgreSQL, decimal text elsewhere; always a Python int."""

    impl = String(80)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(78, 0))
        return dialect.type_descriptor(String(80))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return Decimal(int(value)) if dialect.name == "postgresql" else str(int(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else int(value)


metadata = MetaData()


def _event_table(name: str, *columns: Column, unique: tuple[str, ...] = ("tx_hash", "log_index")) -> Table:
    return Table(
        name, metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("block_number", BigInteger, nullable=False, index=True),
        Column("tx_hash", String(66), nullable=False),
        Column("log_index", Integer, nullable=False),
        *columns,
        UniqueConstraint(*unique, name=f"uq_{name}_log"),
    )


ADDRESS = String(42)
HASH = String(66)

models = _event_table(
    "models",
    Column("model_id", BigInteger, nullable=False, index=True), Column("owner", ADDRESS), Column("stake_token", ADDRESS),
    Column("payment_token", ADDRESS), Column("contributor_share_bps", Integer), Column("emission_per_round", Uint256),
    Column("max_emission", Uint256), Column("spec_hash", HASH), Column("spec_uri", Text), Column("name", Text),
    Column("symbol", Text),
)
model_owners = _event_table(
    "model_owners", Column("model_id", BigInteger, nullable=False, index=True), Column("previous_owner", ADDRESS),
    Column("new_owner", ADDRESS),
)
contributions = _event_table(
    "contributions",
    Column("contribution_id", BigInteger, nullable=False, index=True), Column("model_id", BigInteger, index=True),
    Column("contributor", ADDRESS, index=True), Column("kind", Integer), Column("content_hash", HASH),
    Column("uri", Text),
)
contribution_changes = _event_table(  # withdrawals and displacements
    "contribution_changes",
    Column("contribution_id", BigInteger, nullable=False, index=True), Column("model_id", BigInteger),
    Column("change", String(16), nullable=False), Column("by_contribution_id", BigInteger),
)
commitments = _event_table("commitments", Column("commitment", HASH, index=True), Column("committer", ADDRESS))
evaluations = _event_table(  # committed, revealed, replaced (eval_hash: the replacing hash)
    "evaluations",
    Column("model_id", BigInteger, index=True), Column("round_id", BigInteger), Column("event", String(16)),
    Column("eval_hash", HASH), Column("uri", Text),
    Column("previous_eval_hash", HASH),  # schema version 5: the hash an EvaluationReplaced took the place of
)
# Schema version 5 (the h-v4 contracts): content claims across models, relayed batch entries skipped as already
# registered, and the bond vault's events (its address comes from the registry's BondVaultSet).
content_claims = _event_table(
    "content_claims",
    Column("content_hash", HASH, nullable=False, index=True), Column("contributor", ADDRESS, index=True),
    Column("committed_at", BigInteger, nullable=False),
)
batch_skips = _event_table(
    "batch_skips",
    Column("model_id", BigInteger, nullable=False, index=True), Column("entry_index", Integer, nullable=False),
    Column("contributor", ADDRESS, index=True), Column("contribution_id", BigInteger, nullable=False),
)
bond_vaults = _event_table("bond_vaults", Column("vault", ADDRESS, nullable=False))
bond_policies = _event_table(
    "bond_policies",
    Column("model_id", BigInteger, nullable=False, index=True), Column("amount", Uint256),
    Column("effective_from", BigInteger),
)
bonds = _event_table(  # BondPosted
    "bonds",
    Column("contribution_id", BigInteger, nullable=False, index=True), Column("model_id", BigInteger, index=True),
    Column("contributor", ADDRESS, index=True), Column("amount", Uint256),
)
bond_events = _event_table(  # BondReleased, BondForfeited, BondRefundScheduled, BondClaimed
    "bond_events",
    Column("contribution_id", BigInteger, nullable=False, index=True), Column("event", String(20), nullable=False),
    Column("round_id", BigInteger),  # the deciding round (released, forfeited), or the last forfeitable one
    Column("amount", Uint256), Column("refund", Integer),  # claimed: 1 when it was a withdrawal's refund
)
# Schema version 6: the owner's pulled fees (issue 24, N-3) and each bond permit a relayed registration tried.
owner_fees = _event_table(  # OwnerFeesCredited (model_id set), OwnerFeesWithdrawn (recipient set)
    "owner_fees",
    Column("event", String(16), nullable=False), Column("model_id", BigInteger, index=True),
    Column("owner", ADDRESS, nullable=False, index=True), Column("token", ADDRESS, nullable=False),
    Column("recipient", ADDRESS), Column("amount", Uint256),
)
bond_permits = _event_table(  # BondPermitUsed: accepted 0 when the permit failed (used already, or front-run)
    "bond_permits",
    Column("contributor", ADDRESS, nullable=False, index=True), Column("token", ADDRESS, nullable=False),
    Column("value", Uint256), Column("deadline", Uint256), Column("accepted", Integer, nullable=False),
)
rounds = _event_table(
    "rounds",
    Column("model_id", BigInteger, nullable=False, index=True), Column("round_id", BigInteger, nullable=False),
    Column("merkle_root", HASH), Column("emission", Uint256), Column("cumulative_emission", Uint256),
    Column("scores_hash", HASH), Column("method_hash", HASH), Column("round_file_hash", HASH),
    Column("deadline", Uint256),  # schema version 4: the signed round's deadline
    Column("submitter", ADDRESS), Column("signers", Text),  # comma-separated, ascending
)
round_events = _event_table(  # ScoresReset, RoundVetoed, RoundFinalized
    "round_events",
    Column("model_id", BigInteger, nullable=False, index=True), Column("round_id", BigInteger, nullable=False),
    Column("event", String(16), nullable=False), Column("value", HASH),  # digest (veto) or merkle root (final)
    Column("publisher", ADDRESS),  # the oracle whose own list a reset cleared (schema version 2)
)
scores = _event_table(
    "scores",
    Column("model_id", BigInteger, nullable=False, index=True), Column("round_id", BigInteger, nullable=False),
    Column("position", Integer, nullable=False), Column("account", ADDRESS, index=True), Column("score", Uint256),
    Column("amount", Uint256),
    Column("publisher", ADDRESS),  # each oracle publishes its own list (schema version 2)
    unique=("tx_hash", "log_index", "position"),
)
claims = _event_table(
    "claims",
    Column("model_id", BigInteger, nullable=False, index=True), Column("account", ADDRESS, index=True),
    Column("amount", Uint256), Column("cumulative_amount", Uint256),
)
usage_payments = _event_table(
    "usage_payments",
    Column("model_id", BigInteger, nullable=False, index=True), Column("payer", ADDRESS), Column("amount", Uint256),
    Column("owner_amount", Uint256), Column("holders_amount", Uint256),
)
fee_events = _event_table(  # FeesAccrued, FeesHeld, FeesWithdrawn, FeePeriodStarted of each stake token
    "fee_events",
    Column("model_id", BigInteger, nullable=False, index=True), Column("event", String(24), nullable=False),
    Column("account", ADDRESS, index=True), Column("amount", Uint256), Column("value", Uint256),
)
stake_transfers = _event_table(
    "stake_transfers",
    Column("model_id", BigInteger, nullable=False, index=True), Column("sender", ADDRESS, index=True),
    Column("recipient", ADDRESS, index=True), Column("value", Uint256),
)
blocks = Table(  # hashes of indexed blocks (those with logs, and each batch's last): reorg detection
    "blocks", metadata,
    Column("block_number", BigInteger, primary_key=True), Column("block_hash", HASH, nullable=False),
)
checkpoint = Table(
    "checkpoint", metadata,
    Column("id", Integer, primary_key=True), Column("chain_id", BigInteger, nullable=False),
    Column("registry", ADDRESS, nullable=False), Column("block_number", BigInteger, nullable=False),
    Column("block_hash", HASH, nullable=False),
)
indexed_chain = Table(  # what the index is of, written with its first batch and cleared only by --reset
    "indexed_chain", metadata,
    Column("id", Integer, primary_key=True), Column("chain_id", BigInteger, nullable=False),
    # A node restarted without its state keeps its chain id but not its blocks: the genesis hash tells them
    # apart, and the deployment's first block (whose hash commits to every block before it) the deployment.
    Column("genesis_hash", HASH), Column("first_block", BigInteger, nullable=False),  # no block 0: NULL
    Column("first_block_hash", HASH, nullable=False), Column("registry", ADDRESS, nullable=False),
    Column("distributor", ADDRESS, nullable=False),
)
schema_version = Table("schema_version", metadata, Column("version", Integer, primary_key=True))

EVENT_TABLES = [models, model_owners, contributions, contribution_changes, commitments, evaluations, rounds,
                round_events, scores, claims, usage_payments, fee_events, stake_transfers, content_claims,
                batch_skips, bond_vaults, bond_policies, bonds, bond_events, owner_fees, bond_permits]

# Ordered migrations: MIGRATIONS[v] takes a database at version v to v + 1. An empty database (version 0)
# gets the current schema at once.
def _add_publisher_columns(connection: Connection) -> None:
    """Version 2: score lists are per oracle, so score chunks and resets record their publisher."""
    for table in ("scores", "round_events"):
        connection.execute(text(f"ALTER TABLE {table} ADD COLUMN publisher VARCHAR(42)"))


def _add_indexed_chain(connection: Connection) -> None:
    """Version 3: the chain (genesis hash) and deployment (first block, addresses) the index is of, so that a
    restarted node or a new deployment is refused instead of being taken for a reorganisation of everything.
    The indexer fills it in for an existing index once the chain still holds the index's blocks."""
    indexed_chain.create(connection, checkfirst=True)


def _add_round_deadline(connection: Connection) -> None:
    """Version 4: a signed round carries its deadline (issue 24). Rounds indexed before have none (NULL):
    they came from contracts without it, and the index is rebuilt for a new deployment anyway."""
    kind = "NUMERIC(78, 0)" if connection.dialect.name == "postgresql" else "VARCHAR(80)"
    connection.execute(text(f"ALTER TABLE rounds ADD COLUMN deadline {kind}"))


def _add_settlement_and_bond_tables(connection: Connection) -> None:
    """Version 5: the h-v4 contracts' events (content claims, skipped batch entries, replaced evaluations, bonds).
    Rows indexed before stay; the logs of these events before the migration are read by `index run --reset`."""
    for table in (content_claims, batch_skips, bond_vaults, bond_policies, bonds, bond_events):
        table.create(connection, checkfirst=True)
    connection.execute(text("ALTER TABLE evaluations ADD COLUMN previous_eval_hash VARCHAR(66)"))


def _add_owner_fee_and_permit_tables(connection: Connection) -> None:
    """Version 6: the owner's credited and withdrawn fees, and the bond permits relayed registrations tried. Their
    logs before the migration are read by `index run --reset`."""
    for table in (owner_fees, bond_permits):
        table.create(connection, checkfirst=True)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _add_publisher_columns, 2: _add_indexed_chain, 3: _add_round_deadline, 4: _add_settlement_and_bond_tables,
    5: _add_owner_fee_and_permit_tables}


def migrate(connection: Connection) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version it was at."""
    metadata.tables["schema_version"].create(connection, checkfirst=True)
    found = connection.execute(select(schema_version.c.version)).scalar() or 0
    if found > SCHEMA_VERSION:
        raise RuntimeError(f"the database has schema version {found}, newer than this toolkit's {SCHEMA_VERSION}; "
                           "upgrade openledger-chain")
    if found == SCHEMA_VERSION:
        return found
    if found == 0:
        metadata.create_all(connection)
    else:
        for version in range(found, SCHEMA_VERSION):
            MIGRATIONS[version](connection)
    connection.execute(text("DELETE FROM schema_version"))
    connection.execute(insert(schema_version).values(version=SCHEMA_VERSION))
    return found

"""The event indexer: every registry, round, score, claim, fee and stake event in SQL (SQLite by default,
PostgreSQL by URL), reorg-safe and resumable. See `ingest` (writing) and `reads` (what commands read)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event

DEFAULT_DB = "sqlite:///openledger.db"


def open_database(url: str = DEFAULT_DB) -> Engine:
    """An engine for `url` (`sqlite:///file.db`, `postgresql+psycopg://user@host/db`)."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        # Writers wait for each other instead of failing; WAL lets readers read while the indexer writes.
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # noqa: ANN001, ANN202 - SQLAlchemy's callback signature
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()
    return engine

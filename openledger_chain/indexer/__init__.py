"""The event indexer: every registry, round, score, claim, fee and stake event in SQL (SQLite by default,
PostgreSQL by URL), reorg-safe and resumable. See `ingest` (writing) and `reads` (what commands read)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from openledger_chain.errors import InputError

DEFAULT_DB = "sqlite:///openledger.db"


def open_database(url: str = DEFAULT_DB) -> Engine:
    """An engine for `url` (`sqlite:///file.db`, `postgresql+psycopg://user@host/db`).

    Raises:
        InputError: the URL is malformed or names a database this installation cannot open.
    """
    try:
        engine = create_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise InputError(f"cannot open database {url!r} ({exc}); use sqlite:///FILE or "
                         "postgresql+psycopg://USER@HOST/DB (pip install 'openledger-chain[postgres]')") from exc
    if engine.dialect.name == "sqlite":
        # Writers wait for each other instead of failing; WAL lets readers read while the indexer writes.
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # noqa: ANN001, ANN202 - SQLAlchemy's callback signature
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()
    return engine

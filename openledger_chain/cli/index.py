"""`openledger index run|status`: keep a SQL copy of every event of the deployment."""

from __future__ import annotations

import signal
from typing import Any

import click

from openledger_chain.cli.options import (
    console,
    err_console,
    handle_errors,
    json_option,
    network_options,
    open_ledger,
    print_rows,
)


def db_option(func: Any) -> Any:
    return click.option("--db", "db_url", envvar="OPENLEDGER_DB", default=None,
                        help="Database URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB (env OPENLEDGER_DB) "
                        "[default: openledger.toml's db, else sqlite:///openledger.db].")(func)


def _database(db_url: str | None) -> tuple[str, Any]:
    from openledger_chain.config import load_config
    from openledger_chain.indexer import DEFAULT_DB, open_database

    url = db_url or load_config().db or DEFAULT_DB
    return url, open_database(url)


def _stop_like_ctrl_c(signum: int, frame: Any) -> None:
    """SIGTERM stops as cleanly as Ctrl-C: the batch in flight rolls back, the checkpoint stays saved."""
    raise KeyboardInterrupt


def _confirmations(ledger: Any, given: int | None) -> int:
    """Local chains never reorganise on their own: 0. Elsewhere 12 blocks unless told otherwise."""
    return given if given is not None else (0 if ledger.chain.is_local else 12)


@click.group("index", short_help="Index every event of the deployment into SQL (SQLite or PostgreSQL).")
def index() -> None:
    """An SQL copy of every registry, round, score, claim, fee and stake event, kept up to date by
    `index run`; reorganisations are detected and rolled back, and a run can be stopped (even killed) and
    resumed at any point. Query it with plain SQL, or pass --db to read commands."""


@index.command("run", short_help="Index new confirmed blocks (or keep following the chain).")
@network_options
@db_option
@click.option("--follow", is_flag=True,
              help="Keep polling for new blocks until Ctrl-C (the checkpoint is saved); wait for the node whenever it "
              "stops answering.")
@click.option("--reset", is_flag=True,
              help="If the database indexes another chain or deployment (a node restarted without its state, a new "
              "deployment), delete its rows and index this one; without --reset it is refused.")
@click.option("--confirmations", type=click.IntRange(min=0), default=None,
              help="Blocks a block needs on top before it is indexed [default: 0 on local chains, else 12].")
@click.option("--batch-blocks", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Blocks per eth_getLogs request and per database transaction (shrunk if the node refuses).")
@click.option("--poll", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between polls with --follow.")
@handle_errors
def run(network: str, rpc_url: str | None, db_url: str, follow: bool, reset: bool, confirmations: int | None,
        batch_blocks: int, poll: float) -> None:
    """Index every confirmed block since the last checkpoint, one transaction per batch.

    A database of another chain or deployment is refused unless --reset is given. With --follow, a node that
    stops answering is waited for (one line when it goes, one when it is back) and indexing resumes."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from openledger_chain.errors import NodeUnreachableError
    from openledger_chain.indexer.ingest import Indexer, IndexMismatchError, clear_index

    ledger = open_ledger(network, rpc_url)
    _, engine = _database(db_url)

    def make_indexer() -> Indexer:
        return Indexer(ledger, engine, confirmations=_confirmations(ledger, confirmations), batch_blocks=batch_blocks)

    try:
        indexer = make_indexer()
    except IndexMismatchError as exc:
        if not reset:
            raise
        removed = clear_index(engine)
        indexer = make_indexer()
        err_console.print(f"--reset: {exc.mismatch}; deleted the index's {removed} rows, indexing chain "
                          f"{indexer.chain_id} from block {indexer.first_block}", highlight=False, soft_wrap=True)
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    try:
        with Progress(TextColumn("indexing blocks"), BarColumn(), MofNCompleteColumn(), console=err_console,
                      transient=True) as bar:
            task = bar.add_task("index", total=None)
            report = lambda done, target: bar.update(task, completed=done, total=target)  # noqa: E731
            indexer.run(report)
            if follow:
                err_console.print("following new blocks; Ctrl-C stops", highlight=False)
                indexer.follow(poll, report, notify=lambda line: err_console.print(line, highlight=False,
                                                                                    soft_wrap=True))
    except KeyboardInterrupt:
        err_console.print("stopped; the checkpoint is saved", highlight=False)
    try:  # stopped while the node was away: what the database holds, without waiting out the node's retries
        result = None if indexer.waiting_for_node else indexer.status()
    except NodeUnreachableError:
        result = None
    if result is None:
        indexed, rows = indexer.indexed()
        console.print(f"indexed to block {indexed} ({sum(rows.values())} rows); the node at {indexer.node_url} "
                      "does not answer", highlight=False)
        return
    console.print(f"indexed to block {result.indexed} of {result.head} ({sum(result.rows.values())} rows)",
                  highlight=False)


@index.command("status", short_help="Chain head, indexed block, lag and row counts.")
@network_options
@db_option
@click.option("--confirmations", type=click.IntRange(min=0), default=None,
              help="As for `index run` [default: 0 on local chains, else 12].")
@json_option
@handle_errors
def status(network: str, rpc_url: str | None, db_url: str, confirmations: int | None, as_json: bool) -> None:
    """How far the index is behind the chain, and how many rows each table holds."""
    from openledger_chain.indexer.ingest import Indexer

    ledger = open_ledger(network, rpc_url)
    db_url, engine = _database(db_url)
    result = Indexer(ledger, engine, confirmations=_confirmations(ledger, confirmations)).status()
    row = {"head": result.head, "confirmed": result.target, "indexed": result.indexed, "lag": result.lag}
    print_rows(f"index {db_url}", [row | result.rows], as_json)


"""Which chain and deployment an index is of (the `indexed_chain` row), on the embedded chain: an index made
before it existed is recorded as of this chain when the chain holds its blocks and refused otherwise; an index
of another chain is refused before anything is deleted, also where a reorganisation would roll it back;
`clear_index` starts over. (A real restarted anvil: test_node_outage.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from _ledger_setup import Accounts
from eth_utils import keccak
from sqlalchemy import Engine, delete, select, update

from openledger_chain.contracts import OpenLedger
from openledger_chain.indexer import open_database, schema
from openledger_chain.indexer.ingest import Indexer, IndexMismatchError, clear_index
from openledger_chain.types import ContributionKind, ModelParams


def _rows(engine: Engine) -> dict[str, set[tuple]]:
    with engine.connect() as c:
        return {t.name: {tuple(r)[1:] for r in c.execute(select(t))} for t in schema.EVENT_TABLES}


@pytest.fixture
def indexed(ledger: OpenLedger, accounts: Accounts, tmp_path: Path) -> Engine:
    """An index of a model and a contribution; yields its engine."""
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(b"spec"), "spec.json", ledger.dev_payment_token or "", 3_000, 10**21, 10**24, "S", "S"))
    ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, keccak(b"a"), "a.csv")
    engine = open_database(f"sqlite:///{tmp_path / 'index.db'}")
    Indexer(ledger, engine).run()
    return engine


def test_the_first_batch_records_the_chain_and_the_deployment(ledger: OpenLedger, indexed: Engine) -> None:
    w3 = ledger.chain.w3
    with indexed.connect() as c:
        known = c.execute(select(schema.indexed_chain)).one()
    first = ledger._first_block
    assert (known.chain_id, known.genesis_hash, known.first_block, known.first_block_hash, known.registry,
            known.distributor) == (ledger.chain.chain_id, "0x" + w3.eth.get_block(0)["hash"].hex(), first,
                                   "0x" + w3.eth.get_block(first)["hash"].hex(), ledger.registry.address,
                                   ledger.distributor.address)


def test_an_older_index_is_recorded_as_of_this_chain(ledger: OpenLedger, indexed: Engine) -> None:
    before = _rows(indexed)
    with indexed.begin() as c:
        c.execute(delete(schema.indexed_chain))
    Indexer(ledger, indexed).run()
    with indexed.connect() as c:
        assert c.execute(select(schema.indexed_chain.c.genesis_hash)).scalar() == \
            "0x" + ledger.chain.w3.eth.get_block(0)["hash"].hex()
    assert _rows(indexed) == before


def test_an_older_index_of_blocks_this_chain_lacks_is_refused(ledger: OpenLedger, indexed: Engine) -> None:
    before = _rows(indexed)
    with indexed.begin() as c:
        c.execute(delete(schema.indexed_chain))
        c.execute(update(schema.checkpoint).values(block_hash="0x" + "ee" * 32))
        c.execute(update(schema.blocks).values(block_hash="0x" + "ee" * 32))
    with pytest.raises(IndexMismatchError, match="no indexed block is on it"):
        Indexer(ledger, indexed)
    assert _rows(indexed) == before


def test_another_chain_is_refused_where_a_rollback_would_empty_the_index(ledger: OpenLedger, indexed: Engine) -> None:
    """Before: a checkpoint the chain did not hold was a reorganisation, rolled back to the last stored block
    the chain held; on another chain that is none, and every row went."""
    before = _rows(indexed)
    indexer = Indexer(ledger, indexed)  # checked against the chain: the same one
    with indexed.begin() as c:  # ... which is then swapped for another chain of the same chain id
        c.execute(update(schema.indexed_chain).values(genesis_hash="0x" + "ee" * 32))
        c.execute(update(schema.checkpoint).values(block_hash="0x" + "ee" * 32))
    with pytest.raises(IndexMismatchError, match=r"the genesis block is 0xeeeeeeee… in the index but 0x"):
        indexer.run()
    assert _rows(indexed) == before
    with pytest.raises(IndexMismatchError, match="--reset"):
        Indexer(ledger, indexed)
    assert clear_index(indexed) == sum(map(len, before.values()))
    assert all(not rows for rows in _rows(indexed).values())
    Indexer(ledger, indexed).run()
    assert _rows(indexed) == before


def test_read_commands_never_answer_from_an_index_of_another_chain(ledger: OpenLedger, indexed: Engine) -> None:
    """`contributions list --db`, `round propose` and the other reads use the index only when it is of this
    chain and deployment: an index of a node restarted without its state can hold as many contributions as
    the new chain, at the same addresses, and be 'caught up'."""
    from openledger_chain.indexer.reads import contributions_or_chain

    with indexed.begin() as c:  # the index's copy differs from the chain (as another chain's would) ...
        c.execute(update(schema.contributions).values(uri="elsewhere.csv"))
    assert [x.uri for x in contributions_or_chain(ledger, None, indexed)] == ["elsewhere.csv"]  # ... and is used
    with indexed.begin() as c:  # until it is recorded as of another chain: then the chain answers
        c.execute(update(schema.indexed_chain).values(first_block_hash="0x" + "ee" * 32))
    assert contributions_or_chain(ledger, None, indexed) == ledger.contributions(None) != []

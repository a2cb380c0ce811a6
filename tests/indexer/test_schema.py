"""Schema versions: an empty database gets the current schema; indexes of versions 1 to 4 are migrated in place."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect, select, text

from openledger_chain.indexer import schema

V5_TABLES = ("content_claims", "batch_skips", "bond_vaults", "bond_policies", "bonds", "bond_events")
V6_TABLES = ("owner_fees", "bond_permits")


def _drop_version_6(connection) -> None:  # type: ignore[no-untyped-def]
    """Today's tables as of version 5: without the owner fee and bond permit tables."""
    for table in V6_TABLES:
        schema.metadata.tables[table].drop(connection)


def _drop_version_5(connection) -> None:  # type: ignore[no-untyped-def]
    """Today's tables as of version 4: without the h-v4 contracts' event tables and the replaced hash (nor 6's)."""
    _drop_version_6(connection)
    for table in V5_TABLES:
        schema.metadata.tables[table].drop(connection)
    connection.execute(text("ALTER TABLE evaluations DROP COLUMN previous_eval_hash"))


def test_an_empty_database_gets_the_current_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'index.db'}")
    with engine.begin() as connection:
        assert schema.migrate(connection) == 0
        assert schema.migrate(connection) == schema.SCHEMA_VERSION  # a second run changes nothing
    columns = {c["name"] for c in inspect(engine).get_columns("scores")}
    assert "publisher" in columns


def test_version_1_gains_the_publisher_columns_and_keeps_its_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Version 1 had one shared score list per round; version 2 records each chunk's and reset's oracle."""
    engine = create_engine(f"sqlite:///{tmp_path / 'index.db'}")
    with engine.begin() as connection:
        # Version 1's tables: today's, less the publisher columns and the rounds' deadline (version 4).
        schema.metadata.create_all(connection)
        _drop_version_5(connection)
        for table in ("scores", "round_events"):
            connection.execute(text(f"ALTER TABLE {table} DROP COLUMN publisher"))
        connection.execute(text("ALTER TABLE rounds DROP COLUMN deadline"))
        connection.execute(text("INSERT INTO schema_version (version) VALUES (1)"))
        connection.execute(text("INSERT INTO scores (block_number, tx_hash, log_index, model_id, round_id, position) "
                                "VALUES (7, '0xab', 0, 1, 1, 0)"))
        assert schema.migrate(connection) == 1
        assert connection.execute(select(schema.schema_version.c.version)).scalar() == schema.SCHEMA_VERSION
        rows = connection.execute(select(schema.scores.c.block_number, schema.scores.c.publisher)).all()
    assert [tuple(r) for r in rows] == [(7, None)]
    for table in ("scores", "round_events"):
        assert "publisher" in {c["name"] for c in inspect(engine).get_columns(table)}


def test_version_2_gains_the_indexed_chain_table_and_keeps_its_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Version 3 records which chain and deployment the index is of (the indexer fills it in: see
    test_chain_identity.py), so that a restarted node is not taken for a reorganisation of every block."""
    engine = create_engine(f"sqlite:///{tmp_path / 'index.db'}")
    with engine.begin() as connection:
        schema.metadata.create_all(connection)
        _drop_version_5(connection)
        schema.indexed_chain.drop(connection)
        connection.execute(text("ALTER TABLE rounds DROP COLUMN deadline"))  # version 4
        connection.execute(text("INSERT INTO schema_version (version) VALUES (2)"))
        connection.execute(text("INSERT INTO checkpoint (id, chain_id, registry, block_number, block_hash) "
                                "VALUES (1, 31337, '0xab', 7, '0xcd')"))
        assert schema.migrate(connection) == 2
        assert connection.execute(select(schema.schema_version.c.version)).scalar() == schema.SCHEMA_VERSION
        assert connection.execute(select(schema.checkpoint.c.block_number)).scalar() == 7
        assert connection.execute(select(schema.indexed_chain)).all() == []
    assert "genesis_hash" in {c["name"] for c in inspect(engine).get_columns("indexed_chain")}


def test_version_3_gains_the_round_deadline_and_keeps_its_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Version 4 (issue 24): a signed round carries its deadline; rounds indexed before have none."""
    engine = create_engine(f"sqlite:///{tmp_path / 'index.db'}")
    with engine.begin() as connection:
        schema.metadata.create_all(connection)
        _drop_version_5(connection)
        connection.execute(text("ALTER TABLE rounds DROP COLUMN deadline"))
        connection.execute(text("INSERT INTO schema_version (version) VALUES (3)"))
        connection.execute(text("INSERT INTO rounds (block_number, tx_hash, log_index, model_id, round_id) "
                                "VALUES (7, '0xab', 0, 1, 1)"))
        assert schema.migrate(connection) == 3
        assert connection.execute(select(schema.schema_version.c.version)).scalar() == schema.SCHEMA_VERSION
        rows = connection.execute(select(schema.rounds.c.round_id, schema.rounds.c.deadline)).all()
    assert [tuple(r) for r in rows] == [(1, None)]


def test_version_4_gains_the_h_v4_event_tables_and_keeps_its_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Version 5: content claims, skipped batch entries, replaced evaluations and the bond vault's events."""
    engine = create_engine(f"sqlite:///{tmp_path / 'index.db'}")
    with engine.begin() as connection:
        schema.metadata.create_all(connection)
        _drop_version_5(connection)
        connection.execute(text("INSERT INTO schema_version (version) VALUES (4)"))
        connection.execute(text("INSERT INTO evaluations (block_number, tx_hash, log_index, model_id, round_id, "
                                "event, eval_hash) VALUES (7, '0xab', 0, 1, 1, 'committed', '0xcd')"))
        assert schema.migrate(connection) == 4
        assert connection.execute(select(schema.schema_version.c.version)).scalar() == schema.SCHEMA_VERSION
        rows = connection.execute(select(schema.evaluations.c.eval_hash, schema.evaluations.c.previous_eval_hash)).all()
    assert [tuple(r) for r in rows] == [("0xcd", None)]
    assert set(V5_TABLES) <= set(inspect(engine).get_table_names())


def test_version_5_gains_the_owner_fee_and_bond_permit_tables_and_keeps_its_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'index.db'}")
    with engine.begin() as connection:
        schema.metadata.create_all(connection)
        _drop_version_6(connection)
        connection.execute(text("INSERT INTO schema_version (version) VALUES (5)"))
        connection.execute(text("INSERT INTO bond_vaults (block_number, tx_hash, log_index, vault) "
                                "VALUES (7, '0xab', 0, '0x00000000000000000000000000000000000000b0')"))
        assert not set(V6_TABLES) & set(inspect(connection).get_table_names())
        assert schema.migrate(connection) == 5
        assert connection.execute(select(schema.schema_version.c.version)).scalar() == schema.SCHEMA_VERSION == 6
        assert connection.execute(select(schema.bond_vaults.c.vault)).scalars().all() == [
            "0x00000000000000000000000000000000000000b0"]
    assert set(V6_TABLES) <= set(inspect(engine).get_table_names())

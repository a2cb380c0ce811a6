"""Index a model's whole life on the embedded chain (a vetoed round, two final rounds, claims, usage fees,
stake transfers, a fee withdrawal, a withdrawn contribution) and compare every table with the chain, on
SQLite and on a real PostgreSQL server; re-indexing stores nothing twice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from test_oracle import _commit_next_eval, _propose, setup  # noqa: E402, F401 - `setup` is a fixture

from openledger_chain import views  # noqa: E402
from openledger_chain.history import round_history  # noqa: E402
from openledger_chain.indexer import open_database, reads, schema  # noqa: E402
from openledger_chain.indexer.ingest import Indexer, IndexerError  # noqa: E402
from openledger_chain.oracle import (  # noqa: E402
    claim_from_round_file,
    finalize_round,
    sign_round_file,
    submit_round_file,
)


def _live(ledger, accounts, setup):  # noqa: F811 - the fixture's value
    """Two final rounds (the first one vetoed once), claims, fees, transfers; returns the model id."""
    model, workdir = setup
    tester = ledger.chain.w3.provider.ethereum_tester

    def run_round(veto_first: bool = False):
        _commit_next_eval(ledger, model, workdir, accounts.owner)
        # The vetoed proposal mints less, so the one after it is a different round (a vetoed digest never returns).
        path, _ = _propose(ledger, model, workdir, overwrite=True, **({"emission": 9 * 10**20} if veto_first else {}))
        for oracle in accounts.oracles[:2]:
            sign_round_file(ledger, path, oracle)
        submit_round_file(ledger, path, accounts.oracles[0], chunk=2)
        if veto_first:
            ledger.chain.transact(ledger.distributor.functions.vetoRound(model.model_id), accounts.deployer)
            return run_round()
        tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + 3601)
        finalize_round(ledger, model.model_id, accounts.deployer)
        return path

    token = ledger.erc20(ledger.dev_payment_token)
    ledger.chain.transact(token.functions.mint(accounts.payer.address, 10**21), accounts.payer)
    ledger.pay_usage(accounts.payer, model.model_id, 10**20)  # held: no stake yet
    first = run_round(veto_first=True)
    for who in (accounts.alice, accounts.bob):
        claim_from_round_file(ledger, first, who.address, who)
    stake = ledger.stake_token(model.model_id)
    ledger.chain.transact(stake.functions.transfer(accounts.stranger.address, 10**18), accounts.alice)
    ledger.pay_usage(accounts.payer, model.model_id, 10**20)
    ledger.withdraw_fees(accounts.bob, model.model_id)
    carol_id = next(c.contribution_id for c in ledger.contributions(model.model_id)
                    if c.contributor == accounts.carol.address)
    ledger.withdraw_contribution(accounts.carol, carol_id)
    second = run_round()
    claim_from_round_file(ledger, second, accounts.alice.address, accounts.alice)
    return model.model_id


def _compare_with_chain(engine, ledger, model_id, accounts) -> None:
    assert reads.contributions(engine, model_id) == ledger.contributions(model_id)
    indexed = reads.round_history(engine, model_id)
    assert indexed == round_history(ledger, model_id)
    assert [r.status for r in indexed] == ["vetoed", "final", "final"]
    stake = ledger.stake_token(model_id)
    people = [accounts.alice, accounts.bob, accounts.carol, accounts.stranger]
    assert reads.balances(engine, model_id) == {
        p.address: stake.functions.balanceOf(p.address).call() for p in people if stake.functions.balanceOf(
            p.address).call()}
    for p in people:
        assert reads.claimed(engine, model_id, p.address) == ledger.distributor.functions.claimed(model_id,
                                                                                                  p.address).call()
    start = ledger._first_block
    paid = ledger.registry.events.UsagePaid().get_logs(from_block=start)
    withdrawn = stake.events.FeesWithdrawn().get_logs(from_block=start)
    committed = ledger.registry.events.ContributionCommitted().get_logs(from_block=start)
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(schema.usage_payments)).scalar() == len(paid) == 2
        assert c.execute(select(schema.fee_events.c.amount).where(schema.fee_events.c.event == "withdrawn")
                         ).scalars().all() == [w["args"]["amount"] for w in withdrawn]
        assert c.execute(select(func.count()).select_from(schema.commitments)).scalar() == len(committed)
        assert c.execute(select(func.count()).select_from(schema.evaluations)).scalar() == 2


def _counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t.name: c.execute(select(func.count()).select_from(t)).scalar() for t in schema.EVENT_TABLES}


def test_a_whole_lifecycle_indexes_exactly_what_the_chain_holds(ledger, accounts, setup, tmp_path,  # noqa: F811
                                                                 postgres_url):
    model_id = _live(ledger, accounts, setup)
    head = ledger.chain.w3.eth.block_number
    for url in (f"sqlite:///{tmp_path / 'index.db'}", postgres_url):
        engine = open_database(url)
        indexer = Indexer(ledger, engine, batch_blocks=7)  # many small batches
        assert indexer.run() == head
        status = indexer.status()
        assert status.indexed == head and status.lag == 0 and status.rows["scores"] > 0
        _compare_with_chain(engine, ledger, model_id, accounts)
        # Running again, or from scratch over the same rows, stores nothing twice.
        before = _counts(engine)
        indexer.run()
        with engine.begin() as c:
            c.execute(delete(schema.checkpoint))
        indexer.run()
        assert _counts(engine) == before
        _compare_with_chain(engine, ledger, model_id, accounts)
    # The read commands give the same answers from the index as from a chain scan...
    indexed = reads.IndexSource(ledger, engine)
    for who in (accounts.alice, accounts.bob, accounts.stranger):
        assert views.account_status(ledger, who.address, indexed) == views.account_status(ledger, who.address)
    assert views.rounds(ledger, model_id, indexed) == views.rounds(ledger, model_id)
    assert views.scores(ledger, model_id, 1, None, indexed) == views.scores(ledger, model_id, 1)
    # ... and fall back to the chain where the index lags behind what they need.
    bob_id = next(c.contribution_id for c in ledger.contributions(model_id) if c.contributor == accounts.bob.address)
    ledger.withdraw_contribution(accounts.bob, bob_id)
    assert reads.contributions_or_chain(ledger, model_id, engine) == ledger.contributions(model_id)
    assert [c.withdrawn for c in reads.contributions(engine, model_id) if c.contribution_id == bob_id] == [False]
    _commit_next_eval(ledger, setup[0], setup[1], accounts.owner)
    path, _ = _propose(ledger, setup[0], setup[1], overwrite=True)
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    submit_round_file(ledger, path, accounts.oracles[0], chunk=2)
    assert reads.round_history(engine, model_id) != round_history(ledger, model_id)
    assert views.rounds(ledger, model_id, indexed) == views.rounds(ledger, model_id)


def test_a_database_of_another_deployment_is_refused(ledger, tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'index.db'}")
    Indexer(ledger, engine).run()
    with engine.begin() as c:
        c.execute(schema.checkpoint.update().values(registry="0x" + "11" * 20))
    with pytest.raises(IndexerError, match="use another --db"):
        Indexer(ledger, engine)

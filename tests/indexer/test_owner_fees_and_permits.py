"""Schema version 6 from real transactions on the embedded chain: the model owner's credited and withdrawn fees
(`OwnerFeesCredited`, `OwnerFeesWithdrawn`) and the bond permits relayed registrations tried (`BondPermitUsed`),
one accepted and one that a front-runner had used first. Each read is compared with the contracts' own state."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))

from test_bond_permits import BOND, FAR, _key, _mint, _permit, _relay, _signed, _token, bonded  # noqa: E402, F401

from openledger_chain.contracts import OpenLedger  # noqa: E402
from openledger_chain.indexer import open_database, reads, schema  # noqa: E402
from openledger_chain.indexer.ingest import Indexer  # noqa: E402
from openledger_chain.types import Model  # noqa: E402

USAGE = 10**20


def test_the_index_holds_the_owners_fees_and_each_bond_permit(ledger: OpenLedger, bonded: Model,  # noqa: F811
                                                              accounts, tmp_path) -> None:
    token = ledger.dev_payment_token
    alice = _key("alice")
    _mint(ledger, alice.address)
    _relay(ledger, bonded.model_id, _signed(ledger, alice, bonded.model_id, "accepted"), _permit(ledger, alice))
    # A front-runner submits alice's second permit to the token first: the vault's try fails, the bond is taken.
    second = _signed(ledger, alice, bonded.model_id, "front-run")
    permit = _permit(ledger, alice)
    ledger.chain.transact(_token(ledger).functions.permit(
        alice.address, ledger.bond_vault().address, permit.value, permit.deadline, permit.v, permit.r, permit.s),
        accounts.stranger)
    _relay(ledger, bonded.model_id, second, permit)

    ledger.chain.transact(_token(ledger).functions.mint(accounts.payer.address, 3 * USAGE), accounts.payer)
    for _ in range(2):
        ledger.pay_usage(accounts.payer, bonded.model_id, USAGE)
    engine = open_database(f"sqlite:///{tmp_path / 'index.db'}")
    indexer = Indexer(ledger, engine, batch_blocks=50)
    indexer.run()
    credited = ledger.owner_fees(accounts.owner.address, token)
    assert credited > 0
    assert reads.owner_fees_pending(engine, accounts.owner.address, token) == credited

    withdrawn, _ = ledger.withdraw_owner_fees(accounts.owner, token, accounts.carol.address)
    ledger.pay_usage(accounts.payer, bonded.model_id, USAGE)
    indexer.run()
    assert withdrawn == credited
    assert reads.owner_fees_pending(engine, accounts.owner.address, token) == ledger.owner_fees(
        accounts.owner.address, token) == credited // 2
    with engine.connect() as connection:
        rows = connection.execute(select(schema.owner_fees).order_by(schema.owner_fees.c.block_number)).all()
    assert [(r.event, r.model_id, r.recipient) for r in rows] == [
        ("credited", bonded.model_id, None), ("credited", bonded.model_id, None),
        ("withdrawn", None, accounts.carol.address), ("credited", bonded.model_id, None)]

    permits = reads.bond_permits_of(engine, alice.address)
    assert [(p["value"], p["deadline"], p["accepted"]) for p in permits] == [(BOND, FAR, True), (BOND, FAR, False)]
    assert {p["token"] for p in permits} == {token}
    assert reads.bond_permits_of(engine, accounts.bob.address) == []

    # Indexing again stores nothing twice.
    _, before = indexer.indexed()
    indexer.run()
    assert indexer.indexed()[1] == before

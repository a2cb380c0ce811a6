"""Shared fixtures: one embedded chain per test session with the contracts deployed, rolled back to a
clean snapshot after every test, so tests are independent and fast."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, settings

from openledger_chain.chain import Chain, connect, dev_accounts
from openledger_chain.contracts import OpenLedger
from openledger_chain.deployments import Deployment, ensure_deployment
from openledger_chain.types import Model, ModelParams

from _ledger_setup import (
    CHALLENGE_WINDOW,
    MIN_CHALLENGE_WINDOW,
    CONTRIBUTOR_SHARE_BPS,
    EMISSION_PER_ROUND,
    MAX_EMISSION,
    Accounts,
)

# Hypothesis profiles. The stateful ledger invariants (tests/security/test_invariants.py) run as many
# examples and steps as the profile says: `default` for `make test` (about a minute on two cores),
# `long` (`pytest --hypothesis-profile=long`) for 15x the examples, about 15 minutes. The property
# tests of pure code pin their own `max_examples`; a new one that does not gets this budget too.
# Registering the active profile applies it at once.
_INVARIANT_BUDGET = {
    "max_examples": 20,
    "stateful_step_count": 50,
    "deadline": None,  # one step sends a transaction: timings vary with the machine's load
    "suppress_health_check": [HealthCheck.too_slow],
}
settings.register_profile("default", print_blob=True, **_INVARIANT_BUDGET)
# Hypothesis loads its own `ci` profile (derandomized) when it detects CI: keep that, at the same budget.
settings.register_profile("ci", parent=settings.get_profile("ci"), **_INVARIANT_BUDGET)
settings.register_profile("long", parent=settings.get_profile("default"), max_examples=15 * 20)


@pytest.fixture(autouse=True, scope="session")
def _private_content_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fetched contributions (committee plaintext among them) go to a folder of the test session, never to
    the user's ~/.cache/openledger."""
    saved = os.environ.get("OPENLEDGER_CACHE_DIR")
    os.environ["OPENLEDGER_CACHE_DIR"] = str(tmp_path_factory.mktemp("content-cache"))
    yield
    if saved is None:
        os.environ.pop("OPENLEDGER_CACHE_DIR", None)
    else:
        os.environ["OPENLEDGER_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def accounts() -> Accounts:
    a = dev_accounts()
    return Accounts(a[0], (a[1], a[2], a[3]), a[4], a[5], a[6], a[7], a[8], a[9])


@pytest.fixture(scope="session")
def _deployed(accounts: Accounts) -> tuple[Chain, Deployment]:
    chain = connect("embedded")
    deployment, _ = ensure_deployment(
        chain,
        accounts.deployer,
        oracles=[o.address for o in accounts.oracles],
        threshold=2,
        challenge_window=CHALLENGE_WINDOW,
        min_challenge_window=MIN_CHALLENGE_WINDOW,
    )
    return chain, deployment


@contextmanager
def _snapshot_ledger(deployed: tuple[Chain, Deployment]) -> Iterator[OpenLedger]:
    chain, deployment = deployed
    tester = chain.w3.provider.ethereum_tester
    snapshot = tester.take_snapshot()
    try:
        yield OpenLedger(chain, deployment)
    finally:
        tester.revert_to_snapshot(snapshot)


@pytest.fixture
def ledger(_deployed: tuple[Chain, Deployment]) -> Iterator[OpenLedger]:
    """The deployed contracts on a fresh snapshot of the session chain."""
    with _snapshot_ledger(_deployed) as ledger:
        yield ledger


@pytest.fixture(scope="module")
def module_ledger(_deployed: tuple[Chain, Deployment]) -> Iterator[OpenLedger]:
    """The deployed contracts on a snapshot kept for a whole module: build state that many tests only read in
    a module-scoped fixture on it (each test that also asks for `ledger` gets its own snapshot on top)."""
    with _snapshot_ledger(_deployed) as ledger:
        yield ledger


@pytest.fixture
def chain(ledger: OpenLedger) -> Chain:
    return ledger.chain


@pytest.fixture
def model(ledger: OpenLedger, accounts: Accounts) -> Model:
    """A model owned by `accounts.owner`, paid in the dev payment token, 30% of fees to stake holders."""
    params = ModelParams(
        spec_hash=b"\x5e" * 32,
        spec_uri="ipfs://spec",
        payment_token=ledger.dev_payment_token or "",
        contributor_share_bps=CONTRIBUTOR_SHARE_BPS,
        emission_per_round=EMISSION_PER_ROUND,
        max_emission=MAX_EMISSION,
        name="Model 1 Stake",
        symbol="STK1",
    )
    registered, _ = ledger.register_model(accounts.owner, params)
    return registered

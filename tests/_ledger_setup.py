"""Constants and roles of the shared test chain (tests/conftest.py builds it). A module of its own,
so that test files can import them: a `conftest` module name is not unique across test folders."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

CHALLENGE_WINDOW = 3600
EMISSION_PER_ROUND = 1_000 * 10**18
MAX_EMISSION = 1_000_000 * 10**18
CONTRIBUTOR_SHARE_BPS = 3_000


@dataclass(frozen=True)
class Accounts:
    """Named roles over the dev accounts (the deployer is admin, guardian and pauser)."""

    deployer: LocalAccount
    oracles: tuple[LocalAccount, ...]  # three oracles, threshold two
    owner: LocalAccount
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    payer: LocalAccount
    stranger: LocalAccount

"""Constants and roles of the shared test chain (tests/conftest.py builds it). A module of its own,
so that test files can import them: a `conftest` module name is not unique across test folders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

CHALLENGE_WINDOW = 3600
MIN_CHALLENGE_WINDOW = 600  # the admin may shorten the window to this, never below
EMISSION_PER_ROUND = 1_000 * 10**18
MAX_EMISSION = 1_000_000 * 10**18
CONTRIBUTOR_SHARE_BPS = 3_000


@dataclass(frozen=True)
class Accounts:
    """Named roles over the dev accounts (the deployer proposes admin changes through the AdminTimelock, and
    is the guardian and pauser: allowed on local chains only)."""

    deployer: LocalAccount
    oracles: tuple[LocalAccount, ...]  # three oracles, threshold two
    owner: LocalAccount
    alice: LocalAccount
    bob: LocalAccount
    carol: LocalAccount
    payer: LocalAccount
    stranger: LocalAccount


#: `ContributionRegistry.REVEAL_PERIOD_BLOCKS`: for this many blocks after its commitment a registration can
#: still be displaced by an older commitment, so `round propose` counts it only after them.
REVEAL_PERIOD_BLOCKS = 256


def settle_registrations(chain: Any) -> int:
    """Mine the blocks after which every registration made so far is settled (the embedded chain: about a
    second for 256 blocks; anvil: one `anvil_mine` call); returns the latest block number."""
    return int(chain.mine_blocks(REVEAL_PERIOD_BLOCKS))

"""Reverts and balance errors read as people read them: role names, dates, token units."""

from __future__ import annotations

from eth_utils import keccak

from openledger_chain.errors import _ROLE_NAMES, ContractRevertError


def test_every_role_name_is_the_keccak_of_its_name() -> None:
    for digest, name in _ROLE_NAMES.items():
        expected = b"\0" * 32 if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)
        assert bytes.fromhex(digest) == expected


def test_a_revert_names_the_role_and_shows_times_as_dates() -> None:
    account = "0x" + "ab" * 20
    error = ContractRevertError("AccessControlUnauthorizedAccount", (account, keccak(text="GUARDIAN_ROLE")))
    assert str(error) == f"transaction reverted: AccessControlUnauthorizedAccount({account}, GUARDIAN_ROLE)"
    error = ContractRevertError("RewardDistributorChallengeWindowOpen", (1796089044,))
    assert "RewardDistributorChallengeWindowOpen(1796089044 = 2026-12-01 01:37:24 UTC)" in str(error)

"""Audit M-1: once a round's score list is complete and matches, no single oracle can delay the round.

Before the fix, (a) a rogue oracle appended one entry to a complete list, so the hash no longer
matched, finalization reverted and resetScores succeeded (forcing a full new window after an honest
republish, forever); (b) an empty chunk on a complete list emitted ScoresCompleted again and
restarted the challenge window, so calling it just before each window ended blocked the round.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from openledger_chain.errors import ContractRevertError
from openledger_chain.rounds import ScoreEntry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _round_helpers import (  # noqa: E402
    build_round,
    challenge_ends_at,
    end_challenge_window,
    finalize,
    publish,
    submit,
)

E18 = 10**18


@pytest.fixture
def complete_round(ledger, accounts, model):  # type: ignore[no-untyped-def]
    """Round 1 submitted by two oracles with its whole score list published by one of them."""
    built = build_round(model.model_id, 1, {accounts.alice.address: 600 * E18, accounts.bob.address: 400 * E18})
    submit(ledger, built, accounts.oracles[:2], accounts.payer)
    publish(ledger, built, accounts.oracles[0])
    return built


def _revert_name(info: pytest.ExceptionInfo[ContractRevertError]) -> tuple[str, tuple]:
    return info.value.name, tuple(info.value.error_args)


def test_rogue_oracle_cannot_append_to_a_complete_list(ledger, accounts, model, complete_round) -> None:
    rogue = accounts.oracles[2]  # did not sign the round
    chunk = [ScoreEntry("0x" + "ff" * 20, 0, 0).as_tuple()]
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.distributor.functions.publishScores(model.model_id, 1, chunk), rogue)
    assert _revert_name(info) == ("RewardDistributorScoresAlreadyComplete", (model.model_id, 1))
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.distributor.functions.resetScores(model.model_id, 1), rogue)
    assert info.value.name == "RewardDistributorScoresAlreadyComplete"
    end_challenge_window(ledger, model.model_id)
    finalize(ledger, model.model_id, accounts.stranger)  # the honest list stands


def test_empty_chunk_cannot_restart_the_challenge_window(ledger, accounts, model, complete_round) -> None:
    ends_at = challenge_ends_at(ledger, model.model_id)
    for oracle in accounts.oracles:
        with pytest.raises(ContractRevertError) as info:
            ledger.chain.transact(ledger.distributor.functions.publishScores(model.model_id, 1, []), oracle)
        assert _revert_name(info) == ("RewardDistributorScoresAlreadyComplete", (model.model_id, 1))
    assert challenge_ends_at(ledger, model.model_id) == ends_at
    end_challenge_window(ledger, model.model_id)
    finalize(ledger, model.model_id, accounts.stranger)


def test_empty_chunk_is_rejected_on_an_incomplete_list_too(ledger, accounts, model) -> None:
    built = build_round(model.model_id, 1, {accounts.alice.address: 1_000 * E18})
    submit(ledger, built, accounts.oracles[:2], accounts.payer)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.distributor.functions.publishScores(model.model_id, 1, []), accounts.oracles[0])
    assert _revert_name(info) == ("RewardDistributorEmptyScoreChunk", (model.model_id, 1))

"""Audit M-1: once a round's score list is complete and matches, no single oracle can delay the round.
Red team (this stop): nor can one oracle stall a round whose list is still being published.

Before the fix, (a) a rogue oracle appended one entry to a complete list, so the hash no longer
matched, finalization reverted and resetScores succeeded (forcing a full new window after an honest
republish, forever); (b) an empty chunk on a complete list emitted ScoresCompleted again and
restarted the challenge window, so calling it just before each window ended blocked the round.

Before per-oracle lists, the partial list was shared: (c) a rogue oracle reset it between an honest
oracle's chunks, so a multi-chunk list never completed; (d) it front-ran a one-chunk list with an entry
for 0xff..ff, after which no account is ascending. Either, repeated, stalled every model until the
admin removed the oracle through the timelock (window + 1 day). Now each oracle builds its own list.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from eth_utils import to_checksum_address

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


def test_a_rogue_oracle_resetting_between_chunks_cannot_stall_a_multi_chunk_list(ledger, accounts, model) -> None:
    """(c): the rogue's reset clears only its own list; the honest chunks keep adding up."""
    built = build_round(model.model_id, 1, {a.address: (i + 1) * E18 for i, a in enumerate(
        (accounts.alice, accounts.bob, accounts.carol, accounts.payer))})
    submit(ledger, built, accounts.oracles[:2], accounts.payer)
    honest, rogue = accounts.oracles[0], accounts.oracles[2]
    for start in range(0, len(built.entries), 2):
        publish(ledger, built, honest, entries=built.entries[start:start + 2])
        if start + 2 < len(built.entries):
            ledger.chain.transact(ledger.distributor.functions.resetScores(model.model_id, 1), rogue)
    end_challenge_window(ledger, model.model_id)
    finalize(ledger, model.model_id, accounts.stranger)
    assert ledger.distributor.functions.finalizedRound(model.model_id).call()[1] == 1


def test_a_rogue_oracle_front_running_junk_cannot_stall_a_one_chunk_list(ledger, accounts, model) -> None:
    """(d): the junk entry sits in the rogue's own list; the honest list completes the round."""
    built = build_round(model.model_id, 1, {accounts.alice.address: 600 * E18, accounts.bob.address: 400 * E18})
    submit(ledger, built, accounts.oracles[:2], accounts.payer)
    junk = [ScoreEntry(to_checksum_address("0x" + "ff" * 20), 0, 0).as_tuple()]
    ledger.chain.transact(ledger.distributor.functions.publishScores(model.model_id, 1, junk), accounts.oracles[2])
    publish(ledger, built, accounts.oracles[0])
    assert ledger.pending_round(model.model_id).scores_publisher == accounts.oracles[0].address
    end_challenge_window(ledger, model.model_id)
    finalize(ledger, model.model_id, accounts.stranger)

"""The embedded chain's log cache (`logs.get_logs` reads each eth-tester block once and filters in memory)
answers exactly what eth-tester's own eth_getLogs answers, follows new blocks, and forgets a reverted chain."""

from __future__ import annotations

from eth_utils import keccak

from openledger_chain.logs import get_logs
from openledger_chain.types import ContributionKind


def _cached(ledger, addresses, start, end, topics=None):
    return [log for _, _, logs in get_logs(ledger.chain.w3, addresses, start, end, topics=topics) for log in logs]


def _direct(ledger, addresses, start, end, topics=None):
    query = {"fromBlock": start, "toBlock": end, "address": addresses}
    return list(ledger.chain.w3.eth.get_logs(query | ({"topics": topics} if topics is not None else {})))


def _register(ledger, accounts, model, name: str) -> None:
    ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, keccak(text=name), name)


def test_the_cache_answers_what_eth_getlogs_answers(ledger, accounts, model) -> None:
    for name in ("a", "b", "c"):
        _register(ledger, accounts, model, name)
        ledger.chain.mine_blocks(3)
    head = ledger.chain.w3.eth.block_number
    registry, stake = ledger.registry.address, ledger.stake_token(model.model_id).address
    registered = ledger.registry.events.ContributionRegistered().topic
    middle = _direct(ledger, [registry], 0, head)[-2]["blockNumber"]
    for addresses, start, end, topics in [([registry], 0, head, None), ([registry, stake], 0, head, None),
                                          ([registry], middle, head, None), ([registry], 0, middle, None),
                                          ([registry], 0, head, [[registered]]), ([registry], 0, head, [registered]),
                                          ([registry], 0, head, [None, "0x" + "00" * 32]), ([stake], head, head, None)]:
        assert _cached(ledger, addresses, start, end, topics) == _direct(ledger, addresses, start, end, topics)
    assert len(_cached(ledger, [registry], 0, head, [[registered]])) == 3


def test_the_cache_follows_new_blocks_and_forgets_a_reverted_chain(ledger, accounts, model) -> None:
    tester = ledger.chain.w3.provider.ethereum_tester
    registry = ledger.registry.address
    topic = [[ledger.registry.events.ContributionRegistered().topic]]
    _register(ledger, accounts, model, "before")
    snapshot = tester.take_snapshot()
    _register(ledger, accounts, model, "reverted")
    head = ledger.chain.w3.eth.block_number
    assert len(_cached(ledger, [registry], 0, head, topic)) == 2
    tester.revert_to_snapshot(snapshot)
    _register(ledger, accounts, model, "instead")  # the same block number again, on another branch
    assert ledger.chain.w3.eth.block_number == head
    cached = _cached(ledger, [registry], 0, head, topic)
    assert cached == _direct(ledger, [registry], 0, head, topic) and len(cached) == 2
    assert [e.args["uri"] for e in ledger.events(registry, ["ContributionRegistered"])] == ["before", "instead"]

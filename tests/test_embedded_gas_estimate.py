"""The embedded chain's gas estimate (two runs instead of py-evm's binary search) is never below the least gas
a transaction succeeds with (py-evm's exact search, an independent definition), and close above it."""

from __future__ import annotations

from eth.estimators.gas import binary_gas_search_exact
from eth_utils import keccak

from openledger_chain.types import ContributionKind, ModelParams

TOKEN = 10**18


def _calls(ledger, accounts, model):
    params = ModelParams(b"\x01" * 32, "ipfs://spec", ledger.dev_payment_token or "", 3_000, 10 * TOKEN, 100 * TOKEN,
                         "Model Stake", "MS")
    yield "registerModel (creates a stake token)", ledger.registry.functions.registerModel(params.as_tuple()), accounts.owner
    salt, content = b"\x07" * 32, keccak(text="rows")
    ledger.commit(accounts.alice, [ledger.commitment(model.model_id, accounts.alice.address, ContributionKind.DATA,
                                                     content, salt)])
    yield "registerContribution", ledger.registry.functions.registerContribution(
        model.model_id, int(ContributionKind.DATA), content, "rows.csv", salt), accounts.alice
    yield "an approval", ledger.erc20(ledger.dev_payment_token).functions.approve(accounts.bob.address, 1), \
        accounts.deployer


def test_the_estimate_covers_the_least_gas_that_succeeds(ledger, accounts, model) -> None:
    chain = ledger.chain.w3.provider.ethereum_tester.backend.chain
    ours = chain.gas_estimator
    for name, function, sender in _calls(ledger, accounts, model):
        estimate = function.estimate_gas({"from": sender.address})
        chain.gas_estimator = binary_gas_search_exact
        try:
            least = function.estimate_gas({"from": sender.address})
        finally:
            chain.gas_estimator = ours
        assert least <= estimate <= least * 64 // 63 + 1, (name, least, estimate)
        receipt = ledger.chain.transact(function, sender)
        assert receipt["status"] == 1 and receipt["gasUsed"] <= estimate, name

"""`registerContributionsFor`: many signed registrations in one transaction, attacked.

A relayer (or anyone who saw a signed registration in the mempool) tries to replay an entry inside one
batch and across the single and the batched call, to pass off a registration signed by another key or for
another chain, registry or model, to put two claims on one content hash in one batch, and to reveal an
expired commitment. Each attack must fail with the entry's own error, wrapped with its index, and leave
nothing of the batch behind (nonces included) - except a replay of an entry already registered, which is
skipped with `BatchEntrySkipped` so that nobody can void a batch by registering one of its entries first
(issue 24, N-2). An honest batch must do exactly what as many single
`registerContributionFor` calls do: same contributions, same events, same displacement.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak

from openledger_chain.contracts import OpenLedger, registration_typed_data
from openledger_chain.errors import ContractRevertError
from openledger_chain.types import ContributionKind, SignedContribution

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import deploy, event_args, revert_of  # noqa: E402

DATA = ContributionKind.DATA
FAR = 2**40  # a deadline that never passes in these tests


def _key(i: int) -> Account:
    return Account.from_key(keccak(text=f"relayed batch contributor {i}"))


def _entry(ledger: OpenLedger, signer, model_id: int, content: bytes, *, salt: bytes | None = None,
           contributor: str | None = None, nonce: int | None = None, deadline: int = FAR, commit: bool = True,
           chain_id: int | None = None, registry: str | None = None, signed_model: int | None = None,
           uri: str = "ipfs://entry") -> SignedContribution:
    """A signed entry; its commitment is posted (by the deployer, in a block of its own) unless `commit` is off."""
    contributor = contributor or signer.address
    salt = salt or keccak(content + bytes.fromhex(contributor[2:]))
    if commit:
        ledger.commit(_payer(), [ledger.commitment(model_id, contributor, DATA, content, salt)])
    if nonce is None:
        nonce = int(ledger.registry.functions.nonces(contributor).call())
    message = registration_typed_data(chain_id or ledger.chain.chain_id, registry or ledger.registry.address,
                                      signed_model or model_id, DATA, content, uri, salt, contributor, nonce, deadline)
    signature = bytes(Account.sign_typed_data(signer.key, full_message=message).signature)
    return SignedContribution(contributor, DATA, content, uri, salt, deadline, signature)


def _payer():
    from openledger_chain.chain import dev_accounts

    return dev_accounts()[0]


def _send(ledger: OpenLedger, relayer, model_id: int, entries: list[SignedContribution]):
    return ledger.chain.transact(
        ledger.registry.functions.registerContributionsFor(model_id, [e.as_tuple() for e in entries]), relayer)


def _rejects(ledger, relayer, model_id, entries) -> tuple[int | None, str, tuple]:
    """(entry index, error name, error args) of a batch that must revert; asserts that nothing changed."""
    count = ledger.registry.functions.contributionCount().call()
    nonces = {e.contributor: ledger.registry.functions.nonces(e.contributor).call() for e in entries}
    with pytest.raises(ContractRevertError) as info:
        _send(ledger, relayer, model_id, entries)
    assert ledger.registry.functions.contributionCount().call() == count
    assert {c: ledger.registry.functions.nonces(c).call() for c in nonces} == nonces
    assert f"entry {info.value.batch_index} of the batch" in str(info.value)
    return (info.value.batch_index, *revert_of(info))


def test_a_batch_does_exactly_what_single_relayed_calls_do(ledger, accounts, model):
    """Same entries, once as single calls and once as one batch (from the same state): same contributions
    (all but the block they were registered in), same events in the same order, same nonces."""
    keys = [_key(i) for i in range(4)]
    contents = [keccak(text=f"content {i}") for i in range(4)]
    # Entry 3 is a second registration of keys[0], on the next nonce.
    signers = [keys[0], keys[1], keys[2], keys[0]]
    entries = [_entry(ledger, k, model.model_id, c, nonce=(1 if i == 3 else 0)) for i, (k, c) in
               enumerate(zip(signers, contents, strict=True))]
    tester = ledger.chain.w3.provider.ethereum_tester
    snapshot = tester.take_snapshot()
    single_receipts = [ledger.register_contribution_for(accounts.stranger, e.contributor, model.model_id, e.kind,
                                                        e.content_hash, e.uri, e.salt, e.deadline, e.signature)[1]
                       for e in entries]
    single_events = [event_args(ledger.registry, "ContributionRegistered", r)[0] for r in single_receipts]
    single_state = [ledger.registry.functions.getContribution(e["contributionId"]).call()[:5] for e in single_events]
    single_gas = sum(r["gasUsed"] for r in single_receipts)
    tester.revert_to_snapshot(snapshot)

    receipt = _send(ledger, accounts.stranger, model.model_id, entries)
    batch_events = event_args(ledger.registry, "ContributionRegistered", receipt)
    assert batch_events == single_events
    assert [ledger.registry.functions.getContribution(e["contributionId"]).call()[:5]
            for e in batch_events] == single_state
    assert [ledger.registry.functions.nonces(k.address).call() for k in keys[:3]] == [2, 1, 1]
    assert receipt["gasUsed"] < single_gas  # and far fewer transactions: bench_gas.py has the figures


def test_replaying_an_entry_inside_one_batch_skips_its_second_copy(ledger, accounts, model):
    """The second copy is already registered (by the first): skipped, never registered twice (issue 24, N-2)."""
    alice = _key(1)
    entry = _entry(ledger, alice, model.model_id, keccak(text="alice"))
    other = _entry(ledger, _key(2), model.model_id, keccak(text="bob"))
    receipt = _send(ledger, accounts.stranger, model.model_id, [entry, other, entry])
    registered = event_args(ledger.registry, "ContributionRegistered", receipt)
    assert [e["contributor"] for e in registered] == [alice.address, _key(2).address]
    assert event_args(ledger.registry, "BatchEntrySkipped", receipt) == [
        {"modelId": model.model_id, "index": 2, "contributor": alice.address,
         "contributionId": registered[0]["contributionId"]}]
    assert ledger.registry.functions.nonces(alice.address).call() == 1


def test_replaying_across_the_single_and_the_batched_call_registers_nothing_twice(ledger, accounts, model):
    alice, bob = _key(1), _key(2)
    # Used in a single call, then replayed in a batch: skipped (issue 24, N-2), nothing registered twice.
    entry = _entry(ledger, alice, model.model_id, keccak(text="alice"))
    held, _ = ledger.register_contribution_for(accounts.stranger, entry.contributor, model.model_id, DATA,
                                               entry.content_hash, entry.uri, entry.salt, entry.deadline,
                                               entry.signature)
    count = ledger.registry.functions.contributionCount().call()
    receipt = _send(ledger, accounts.stranger, model.model_id, [entry])
    assert event_args(ledger.registry, "BatchEntrySkipped", receipt) == [
        {"modelId": model.model_id, "index": 0, "contributor": alice.address, "contributionId": held}]
    assert ledger.registry.functions.contributionCount().call() == count
    assert ledger.registry.functions.nonces(alice.address).call() == 1
    # Used in a batch, then replayed in a single call (even with a fresh commitment for it).
    entry = _entry(ledger, bob, model.model_id, keccak(text="bob"))
    _send(ledger, accounts.stranger, model.model_id, [entry])
    ledger.commit(_payer(), [ledger.commitment(model.model_id, bob.address, DATA, entry.content_hash, entry.salt)])
    with pytest.raises(ContractRevertError) as info:
        ledger.register_contribution_for(accounts.payer, entry.contributor, model.model_id, DATA,
                                         entry.content_hash, entry.uri, entry.salt, entry.deadline, entry.signature)
    assert revert_of(info) == ("ContributionRegistryInvalidSignature", (bob.address,))
    assert info.value.batch_index is None


def test_an_entry_signed_by_another_key_fails_the_batch_at_its_index(ledger, accounts, model):
    alice, mallory = _key(1), _key(66)
    good = [_entry(ledger, _key(i), model.model_id, keccak(text=f"c{i}")) for i in range(2, 4)]
    forged = _entry(ledger, mallory, model.model_id, keccak(text="forged"), contributor=alice.address)
    assert _rejects(ledger, accounts.stranger, model.model_id, [*good, forged]) == (
        2, "ContributionRegistryInvalidSignature", (alice.address,))


@pytest.mark.parametrize("where", ["chain", "registry", "model"])
def test_an_entry_signed_for_another_domain_or_model_fails(ledger, accounts, model, where):
    alice = _key(1)
    other_registry = deploy(ledger.chain, "ContributionRegistry", accounts.deployer, accounts.deployer.address)
    override = {"chain": {"chain_id": ledger.chain.chain_id + 1},
                "registry": {"registry": other_registry.address},
                "model": {"signed_model": model.model_id + 1}}[where]
    entry = _entry(ledger, alice, model.model_id, keccak(text="alice"), **override)
    assert _rejects(ledger, accounts.stranger, model.model_id, [entry]) == (
        0, "ContributionRegistryInvalidSignature", (alice.address,))


def test_a_copied_content_hash_in_one_batch_goes_to_the_older_commitment(ledger, accounts, model):
    """A relayer puts its own registration of alice's content hash into the batch that carries alice's."""
    alice, thief = _key(1), _key(66)
    content = keccak(text="alice's data set")
    alice_entry = _entry(ledger, alice, model.model_id, content)  # her commitment is mined first
    thief_entry = _entry(ledger, thief, model.model_id, content)
    # The thief's entry first: alice's (older commitment) displaces it within the same batch.
    tester = ledger.chain.w3.provider.ethereum_tester
    snapshot = tester.take_snapshot()
    receipt = _send(ledger, accounts.stranger, model.model_id, [thief_entry, alice_entry])
    thief_id, alice_id = (e["contributionId"] for e in event_args(ledger.registry, "ContributionRegistered", receipt))
    assert event_args(ledger.registry, "ContributionDisplaced", receipt) == [
        {"contributionId": thief_id, "byContributionId": alice_id, "modelId": model.model_id}]
    assert ledger.registry.functions.contributionByContent(model.model_id, content).call() == alice_id
    tester.revert_to_snapshot(snapshot)
    # Alice's first: the thief's younger commitment cannot take it; the whole batch reverts, naming entry 1.
    index, name, args = _rejects(ledger, accounts.stranger, model.model_id, [alice_entry, thief_entry])
    assert (index, name, args[:2]) == (1, "ContributionRegistryDuplicateContent", (model.model_id, content))
    # The toolkit's relayer drops the invalid entry and registers the rest.
    result = ledger.register_contributions_for(accounts.stranger, model.model_id, [alice_entry, thief_entry],
                                               skip_invalid=True)
    assert len(result.contribution_ids) == 1 and len(result.receipts) == 1
    assert [(s.contributor, e.name, e.batch_index) for s, e in result.skipped] == [
        (thief.address, "ContributionRegistryDuplicateContent", 1)]
    assert ledger.registry.functions.getContribution(result.contribution_ids[0]).call()[1] == alice.address


def test_an_expired_commitment_or_deadline_fails_the_batch_at_its_index(ledger, accounts, model):
    stale = _entry(ledger, _key(1), model.model_id, keccak(text="stale"))
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.mine_blocks(256)  # the batch lands 257 blocks after the commitment
    fresh = _entry(ledger, _key(2), model.model_id, keccak(text="fresh"))
    commitment = ledger.commitment(model.model_id, stale.contributor, DATA, stale.content_hash, stale.salt)
    committed_at = ledger.registry.functions.commitmentBlock(commitment).call()
    assert _rejects(ledger, accounts.stranger, model.model_id, [fresh, stale]) == (
        1, "ContributionRegistryCommitmentExpired", (commitment, committed_at))
    now = int(tester.get_block_by_number("pending")["timestamp"])
    late = _entry(ledger, _key(3), model.model_id, keccak(text="late"), deadline=now - 1)
    assert _rejects(ledger, accounts.stranger, model.model_id, [fresh, late]) == (
        1, "ContributionRegistryExpiredSignature", (now - 1,))


def test_an_uncommitted_entry_fails_the_batch_at_its_index(ledger, accounts, model):
    fresh = _entry(ledger, _key(2), model.model_id, keccak(text="fresh"))
    bare = _entry(ledger, _key(3), model.model_id, keccak(text="bare"), commit=False)
    index, name, _ = _rejects(ledger, accounts.stranger, model.model_id, [fresh, bare])
    assert (index, name) == (1, "ContributionRegistryNotCommitted")


def test_an_empty_batch_or_unknown_model_is_refused(ledger, accounts, model):
    with pytest.raises(ContractRevertError) as info:
        _send(ledger, accounts.stranger, model.model_id, [])
    assert revert_of(info) == ("ContributionRegistryEmptyBatch", ())
    entry = _entry(ledger, _key(1), model.model_id, keccak(text="x"))
    with pytest.raises(ContractRevertError) as info:
        _send(ledger, accounts.stranger, model.model_id + 1, [entry])
    assert revert_of(info) == ("ContributionRegistryUnknownModel", (model.model_id + 1,))
    assert info.value.batch_index is None


def test_a_contract_wallet_signs_an_entry_with_erc1271(ledger, accounts, model):
    owner = _key(1)
    wallet = deploy(ledger.chain, "MockERC1271Wallet", accounts.deployer, owner.address)
    entry = _entry(ledger, owner, model.model_id, keccak(text="wallet"), contributor=wallet.address)
    (event,) = event_args(ledger.registry, "ContributionRegistered",
                          _send(ledger, accounts.stranger, model.model_id, [entry]))
    assert event["contributor"] == wallet.address


def test_the_toolkit_sizes_batches_to_the_gas_target(ledger, accounts, model):
    entries = [_entry(ledger, _key(i), model.model_id, keccak(text=f"many {i}"), commit=False) for i in range(8)]
    ledger.commit_many(_payer(), [ledger.commitment(model.model_id, e.contributor, DATA, e.content_hash, e.salt)
                                  for e in entries])
    target = 400_000
    result = ledger.register_contributions_for(accounts.stranger, model.model_id, entries, gas_target=target)
    assert len(result.contribution_ids) == 8 and not result.skipped
    gas = [r["gasUsed"] for r in result.receipts]
    assert 3 <= len(gas) <= 4, gas  # ~125k gas an entry: 3 entries a transaction
    assert all(g <= target for g in gas), gas
    assert [ledger.registry.functions.getContribution(c).call()[1] for c in result.contribution_ids] == [
        e.contributor for e in entries]


def test_the_relayer_reports_an_entry_registered_before_its_batch_as_skipped_not_registered(ledger, accounts,
                                                                                              model):
    """Someone copies alice's entry out of the pending batch and registers it first (issue 24, N-2): the batch
    goes through, and `register_contributions_for` reports her entry as skipped with the contribution that holds
    it, instead of counting it among the batch's registrations."""
    alice, bob = _key(1), _key(2)
    alice_entry = _entry(ledger, alice, model.model_id, keccak(text="alice"))
    bob_entry = _entry(ledger, bob, model.model_id, keccak(text="bob"))
    held, _ = ledger.register_contribution_for(accounts.stranger, alice_entry.contributor, model.model_id, DATA,
                                               alice_entry.content_hash, alice_entry.uri, alice_entry.salt,
                                               alice_entry.deadline, alice_entry.signature)
    result = ledger.register_contributions_for(accounts.payer, model.model_id, [alice_entry, bob_entry])
    assert len(result.receipts) == 1 and len(result.contribution_ids) == 1
    assert ledger.get_contribution(result.contribution_ids[0]).contributor == bob.address
    assert result.already_registered == [(alice_entry, held)] and not result.skipped
    assert result.skip_reasons() == [(alice_entry, f"already registered as contribution {held} (its contributor "
                                                   "holds this content in the model): nothing to do")]

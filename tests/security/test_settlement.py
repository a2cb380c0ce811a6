"""The oracle waits out the registration settlement (ContributionRegistry.REVEAL_PERIOD_BLOCKS), attacked.

Mallory copies a content hash whose owner (alice) committed to it first but has not revealed it yet, registers
it with her younger commitment and asks for a round at once. Before this fix `round propose` counted every
registration as soon as it was made, so the round paid mallory for alice's data, and alice's older commitment
displaced mallory's registration only after the round: the stake stayed paid. Now propose counts only what no
older commitment can displace after its snapshot block (`registryBlock`), lists the rest as unsettled with the
block each settles at, and `verify` fails the "settlement" check of a round file that counts one anyway (or
leaves out a settled one as unsettled). The last block a registration can be displaced in is measured on the
contract itself, through the cross-model priority of N-3 (the one way a displacement can come that late).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from eth_utils import keccak

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from _helpers import event_args, revert_of  # noqa: E402
from _ledger_setup import REVEAL_PERIOD_BLOCKS  # noqa: E402
from test_oracle import EXAMPLE, _propose, setup  # noqa: E402, F401 - `setup` is a fixture

from openledger_chain.errors import ContractRevertError  # noqa: E402
from openledger_chain.oracle import RoundError, read_round_file, write_round_file, RoundFile  # noqa: E402
from openledger_chain.rounds import canonical_hash  # noqa: E402
from openledger_chain.settlement import reveal_period, settlements  # noqa: E402
from openledger_chain.types import ContributionKind, ModelParams  # noqa: E402
from openledger_chain.verify import verify_round  # noqa: E402

DATA = ContributionKind.DATA


def _mine_until(ledger, block: int) -> None:
    """Mine so that the next transaction lands in block `block` (the embedded chain mines one per transaction)."""
    ledger.chain.mine_blocks(block - 1 - ledger.chain.w3.eth.block_number)


def _front_run(ledger, accounts, model, workdir):
    """Alice commits to dave.csv; mallory (the stranger) copies its hash and registers it first with a younger
    commitment. Returns (alice's salt, content hash, mallory's contribution id)."""
    shutil.copyfile(EXAMPLE / "dave.csv", workdir / "dave.csv")
    content = keccak((workdir / "dave.csv").read_bytes())
    salt = b"\xa1" * 32
    ledger.commit(accounts.alice, [ledger.commitment(model.model_id, accounts.alice.address, DATA, content, salt)])
    mallory_id, _ = ledger.register_contribution(accounts.stranger, model.model_id, DATA, content, "dave.csv")
    return salt, content, mallory_id


def test_a_front_run_registration_is_not_paid_before_it_settles(ledger, accounts, setup):  # noqa: F811
    model, workdir = setup
    salt, content, mallory_id = _front_run(ledger, accounts, model, workdir)
    settles_at = settlements(ledger, model.model_id)[mallory_id].settles_at
    path, round_file = _propose(ledger, model, workdir)
    body = round_file.body
    assert int(body["registryBlock"]) < settles_at
    assert str(mallory_id) not in {i["id"] for i in body["inputs"]}
    assert body["unsettled"] == [{"id": str(mallory_id), "settlesAt": str(settles_at)}]
    assert accounts.stranger.address not in {s["account"] for s in body["scores"]}
    checks = {c.name: c for c in verify_round(ledger, round_file_path=path).checks}
    assert checks["settlement"].ok is True and checks["inputs"].ok is True, checks
    # Alice reveals within her own window: her older commitment displaces mallory, who was never paid.
    receipt = ledger.chain.transact(
        ledger.registry.functions.registerContribution(model.model_id, int(DATA), content, "dave.csv", salt),
        accounts.alice)
    assert event_args(ledger.registry, "ContributionDisplaced", receipt)[0]["contributionId"] == mallory_id


def test_a_registration_counts_from_the_first_round_proposed_once_it_settled(ledger, accounts, setup):  # noqa: F811
    model, workdir = setup
    _, _, mallory_id = _front_run(ledger, accounts, model, workdir)  # alice never reveals: mallory keeps it
    settles_at = settlements(ledger, model.model_id)[mallory_id].settles_at
    _mine_until(ledger, settles_at)  # the proposal reads the registry at block settles_at - 1: one block early
    _, early = _propose(ledger, model, workdir)  # (committing the evaluation set takes block settles_at)
    assert int(early.body["registryBlock"]) == settles_at
    assert str(mallory_id) in {i["id"] for i in early.body["inputs"]} and early.body["unsettled"] == []


def test_propose_says_when_nothing_has_settled_yet(ledger, accounts, setup):  # noqa: F811
    """A model whose every registration is still displaceable gets a one-line error naming the block to wait for."""
    model, workdir = setup
    spec = workdir / "spec.json"
    fresh, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 10**21, 10**24, "S2", "S2"))
    shutil.copyfile(EXAMPLE / "dave.csv", workdir / "dave.csv")  # new content: its own priority (not N-3's)
    cid, _ = ledger.register_contribution(accounts.alice, fresh.model_id, DATA,
                                          keccak((workdir / "dave.csv").read_bytes()), "dave.csv")
    settles_at = settlements(ledger, fresh.model_id)[cid].settles_at
    with pytest.raises(RoundError) as info:
        _propose(ledger, fresh, workdir)
    assert str(info.value).startswith(
        f"model {fresh.model_id} has no settled contribution yet: 1 contribution settles at block {settles_at} and "
        "counts from the next round")
    assert f"propose again at block {settles_at} or later" in str(info.value) and "\n" not in str(info.value)


def _rewrite(path: Path, edit) -> Path:
    data = json.loads(path.read_text())
    edit(data["body"])
    write_round_file(path, RoundFile(data["body"], canonical_hash(data["body"])))
    return path


def test_verify_fails_a_round_file_that_counts_an_unsettled_contribution(ledger, accounts, setup):  # noqa: F811
    model, workdir = setup
    _, content, mallory_id = _front_run(ledger, accounts, model, workdir)
    path, round_file = _propose(ledger, model, workdir)
    entry = {"id": str(mallory_id), "contributor": accounts.stranger.address, "kind": "data",
             "contentHash": "0x" + content.hex(), "uri": "dave.csv"}

    def count_it(body):  # what the proposer did before this fix: mallory's registration is an input
        body["inputs"] = sorted(body["inputs"] + [entry], key=lambda i: int(i["id"]))
        body["unsettled"] = []

    _rewrite(path, count_it)
    checks = {c.name: c for c in verify_round(ledger, round_file_path=path).checks}
    assert checks["settlement"].ok is False
    assert checks["settlement"].detail.startswith(
        f"counts 1 contributions not settled at registryBlock {round_file.body['registryBlock']} (first: "
        f"{mallory_id}, displaceable until block {settlements(ledger, model.model_id)[mallory_id].settles_at})")
    assert checks["inputs"].ok is True  # as registered: only the settlement check knows


def test_verify_fails_a_round_file_that_leaves_out_a_settled_contribution_as_unsettled(ledger, accounts,
                                                                                          setup):  # noqa: F811
    model, workdir = setup
    path, round_file = _propose(ledger, model, workdir)
    first = round_file.body["inputs"][0]
    settles_at = settlements(ledger, model.model_id)[int(first["id"])].settles_at

    def hide_it(body):
        body["inputs"] = body["inputs"][1:]
        body["unsettled"] = [{"id": first["id"], "settlesAt": str(int(body["registryBlock"]) + 1)}]

    _rewrite(path, hide_it)
    checks = {c.name: c for c in verify_round(ledger, round_file_path=path).checks}
    assert checks["settlement"].ok is False and f"settles at block {settles_at}" in checks["settlement"].detail
    assert checks["inputs"].ok is False  # and it is a registered input left out


def test_the_last_block_a_registration_can_be_displaced_in_is_its_settlement_block(ledger, accounts, model):
    """Mallory registers alice's content in model 1; alice, holding an older commitment to it, registers it in
    model 2 (N-3: her priority now counts across models) and then in model 1 with a fresh commitment: that
    displaces mallory in block `settles_at` exactly, and is refused one block later."""
    registry, alice, mallory = ledger.registry, accounts.alice, accounts.bob
    assert reveal_period(ledger) == REVEAL_PERIOD_BLOCKS == 256
    second, _ = ledger.register_model(accounts.owner, ModelParams(
        b"\x5e" * 32, "ipfs://spec2", ledger.dev_payment_token or "", 3_000, 10**21, 10**24, "S2", "S2"))
    content = keccak(text="alice's data, copied late")
    old_salt, fresh_salt = b"\x0a" * 32, b"\x0b" * 32
    ledger.commit(alice, [ledger.commitment(second.model_id, alice.address, DATA, content, old_salt)])
    mallory_id, _ = ledger.register_contribution(mallory, model.model_id, DATA, content, "m")
    ledger.chain.transact(registry.functions.registerContribution(second.model_id, 0, content, "a", old_salt), alice)
    ledger.commit(alice, [ledger.commitment(model.model_id, alice.address, DATA, content, fresh_salt)])
    settles_at = settlements(ledger, model.model_id)[mallory_id].settles_at
    assert settles_at == settlements(ledger, model.model_id)[mallory_id].priority + 256
    displace = registry.functions.registerContribution(model.model_id, 0, content, "a", fresh_salt)
    tester = ledger.chain.w3.provider.ethereum_tester
    snapshot = tester.take_snapshot()
    _mine_until(ledger, settles_at)
    receipt = ledger.chain.transact(displace, alice)
    assert receipt["blockNumber"] == settles_at
    assert event_args(registry, "ContributionDisplaced", receipt)[0]["contributionId"] == mallory_id
    tester.revert_to_snapshot(snapshot)
    _mine_until(ledger, settles_at + 1)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(displace, alice)
    assert revert_of(info) == ("ContributionRegistryDuplicateContent", (model.model_id, content, mallory_id))

"""Who can read the committee's files as membership changes through the timelock: a member added after two
rounds reads every earlier contribution and evaluation set (no contributor helps) and recomputes both rounds
bit for bit; a member removed is left out of the next epoch and cannot open what is contributed after it,
while it still opens what it could read before (it keeps what it had)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from eth_utils import keccak

from openledger_chain.chain import dev_accounts
from openledger_chain.committee import committee_identities, contributor_recipient, read_committee, rewrap
from openledger_chain.confidential import dev_identity, encrypt_file, recipient_of
from openledger_chain.errors import InputError
from openledger_chain.fetch import FetchSettings, fetch_contribution
from openledger_chain.oracle import (
    RecomputeInputs,
    finalize_round,
    propose_round,
    read_round_file,
    recompute_report,
    sign_round_file,
    submit_round_file,
)
from openledger_chain.rewards import quantize
from openledger_chain.types import ContributionKind, ModelParams

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))
from _round_helpers import admin  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "attribution"
TOKEN = 10**18
NEWCOMER = dev_accounts()[9]  # added as an oracle after two rounds


def _identity(account):
    return dev_identity(bytes(account.key))


def _fetch(ledger, account, cache: Path) -> FetchSettings:
    return FetchSettings(cache_dir=cache, identities=committee_identities(ledger, _identity(account)))


@pytest.fixture
def committee(ledger, accounts):
    for member in (accounts.deployer, *accounts.oracles):
        ledger.publish_encryption_key(member, recipient_of(_identity(member)))
    rewrap(ledger, accounts.oracles[0], _identity(accounts.oracles[0]), read_committee(ledger))
    return ledger


def _publish(ledger, folder: Path, name: str) -> str:
    """Encrypt examples/attribution/NAME to the committee's current key into `folder`; its path."""
    _, recipient = contributor_recipient(read_committee(ledger))
    encrypt_file(EXAMPLE / name, folder / f"{name}.age", recipient)
    return str(folder / f"{name}.age")


def _round(ledger, accounts, model, work: Path, round_id: int, eval_name: str, revealed: tuple[Path, ...]) -> Path:
    eval_path = work / eval_name
    ledger.commit_evaluation(accounts.owner, model.model_id, round_id, keccak(eval_path.read_bytes()))
    path, _ = propose_round(ledger, model.model_id, spec_path=work / "spec.json", eval_path=eval_path,
                            rounds_dir=work / "rounds", revealed=revealed,
                            fetch=_fetch(ledger, accounts.oracles[0], work / "cache-1"))
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle, RecomputeInputs(
            work / "spec.json", eval_path, work, revealed, _fetch(ledger, oracle, work / f"cache-{oracle.address}")))
    submit_round_file(ledger, path, accounts.oracles[0])
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + 3601)
    finalize_round(ledger, model.model_id, accounts.deployer)
    return path


def test_a_member_added_later_recomputes_earlier_rounds_and_a_removed_one_reads_nothing_new(
        committee, accounts, tmp_path: Path) -> None:
    ledger = committee
    served = tmp_path / "served"  # what contributors publish: ciphertext only
    served.mkdir()
    for name in ("spec.json", "eval.csv", "eval2.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    spec = tmp_path / "spec.json"
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 1_000 * TOKEN,
        1_000_000 * TOKEN, "Stake", "STK"))
    for who, name in ((accounts.alice, "alice.csv"), (accounts.bob, "bob.csv")):
        ledger.register_contribution(who, model.model_id, ContributionKind.DATA, keccak((EXAMPLE / name).read_bytes()),
                                     _publish(ledger, served, name))
    ledger.chain.mine_blocks(256)  # the registrations settle (ContributionRegistry.REVEAL_PERIOD_BLOCKS)
    first = _round(ledger, accounts, model, tmp_path, 1, "eval.csv", ())
    # Round 1's evaluation set goes to the committee only; round 2 adds carol and uses it as revealed.
    eval_hash = keccak((tmp_path / "eval.csv").read_bytes())
    ledger.reveal_evaluation(accounts.owner, model.model_id, 1, _publish(ledger, served, "eval.csv"))
    ledger.register_contribution(accounts.carol, model.model_id, ContributionKind.DATA,
                                 keccak((EXAMPLE / "carol.csv").read_bytes()), _publish(ledger, served, "carol.csv"))
    ledger.chain.mine_blocks(256)
    revealed = fetch_contribution(str(served / "eval.csv.age"), eval_hash,
                                  _fetch(ledger, accounts.oracles[0], tmp_path / "cache-1")).path
    second = _round(ledger, accounts, model, tmp_path, 2, "eval2.csv", (revealed,))

    # The timelock adds an oracle; it publishes a key and any member gives it every epoch key.
    admin(ledger, accounts.deployer, ledger.distributor.functions.addOracle(NEWCOMER.address))
    newcomer_cache = tmp_path / "cache-newcomer"
    assert committee_identities(ledger, _identity(NEWCOMER)) == ()
    ledger.publish_encryption_key(NEWCOMER, recipient_of(_identity(NEWCOMER)))
    # It cannot give itself what it does not hold: a member who holds epoch 1 must.
    alone = rewrap(ledger, NEWCOMER, _identity(NEWCOMER), read_committee(ledger))
    assert (alone.new_epoch, alone.wrapped, alone.held, alone.missing) == (None, {}, (), (1,))
    result = rewrap(ledger, accounts.oracles[1], _identity(accounts.oracles[1]), read_committee(ledger))
    assert result.new_epoch is None and result.wrapped == {1: [NEWCOMER.address]}
    newcomer = _fetch(ledger, NEWCOMER, newcomer_cache)
    assert len(newcomer.identities) == 1
    # It reads the revealed evaluation set and recomputes both rounds from the encrypted files, bit for bit.
    its_revealed = fetch_contribution(str(served / "eval.csv.age"), eval_hash, newcomer).path
    assert its_revealed is not None and its_revealed.read_bytes() == (tmp_path / "eval.csv").read_bytes()
    for path, eval_name, earlier in ((first, "eval.csv", ()), (second, "eval2.csv", (its_revealed,))):
        body = read_round_file(path).body
        report = recompute_report(ledger, body, spec, tmp_path / eval_name, tmp_path, earlier, newcomer)
        stated = {e["account"]: int(e["score"]) for e in body["scores"]}
        assert {a: int(v) for a, v in quantize(report.scores()).items()} == stated

    # The timelock removes oracle 3: contributors are refused until a member starts a new epoch without it.
    removed = accounts.oracles[2]
    admin(ledger, accounts.deployer, ledger.distributor.functions.removeOracle(removed.address))
    with pytest.raises(InputError, match="no longer a committee member"):
        contributor_recipient(read_committee(ledger))
    result = rewrap(ledger, accounts.oracles[0], _identity(accounts.oracles[0]), read_committee(ledger))
    assert result.new_epoch == 2
    state = read_committee(ledger)
    assert contributor_recipient(state)[0] == 2
    assert not state.has_wrap(2, removed.address) and state.has_wrap(2, NEWCOMER.address)
    dave = (EXAMPLE / "dave.csv").read_bytes()
    dave_uri = _publish(ledger, served, "dave.csv")
    # The removed member still holds epoch 1 (it opens alice's file) but cannot open dave's.
    former = _fetch(ledger, removed, tmp_path / "cache-removed")
    assert fetch_contribution(str(served / "alice.csv.age"), keccak((EXAMPLE / "alice.csv").read_bytes()),
                              former).path is not None
    assert "does not decrypt" in fetch_contribution(dave_uri, keccak(dave), former).excluded
    for member in (accounts.oracles[0], NEWCOMER, accounts.deployer):
        opened = fetch_contribution(dave_uri, keccak(dave), _fetch(ledger, member, tmp_path / f"c-{member.address}"))
        assert opened.path is not None and opened.path.read_bytes() == dave

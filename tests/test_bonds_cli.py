"""Contribution bonds through the command line on the embedded chain (issue 23): the owner sets a bond (`model
set-bond`, shown with its pending raise by `model show`), `contribute` states the bond and approves exactly it,
a final round's decisions are sent by anyone (`bonds apply`, idempotent), `status` shows held, released,
forfeited and claimable bonds, and `bonds claim` pays back a released bond and refuses a forfeited one. A relayed
`contribute` (`--relayer-dev-account`) signs an EIP-2612 permit for the bond after saying what it permits."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_utils import keccak

from openledger_chain.cli import main
from openledger_chain.contracts import OpenLedger
from openledger_chain.deployments import save_deployment
from openledger_chain.oracle import finalize_round, propose_round, sign_round_file, submit_round_file
from openledger_chain.types import Model, ModelParams

from _ledger_setup import CHALLENGE_WINDOW, Accounts, settle_registrations

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "attribution"
TOKEN = 10**18
Run = Callable[..., Result]


@pytest.fixture
def cli(ledger: OpenLedger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    save_deployment(ledger.deployment, tmp_path / "deployments")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENLEDGER_CONFIG", raising=False)
    monkeypatch.setattr("openledger_chain.chain.connect", lambda network="localhost", rpc_url=None: ledger.chain)

    def run(*args: str, ok: bool = True) -> Result:
        result = CliRunner().invoke(main, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        return result

    return run


def _flat(result: Result) -> str:
    return " ".join(result.output.split())


def _register_model(ledger: OpenLedger, accounts: Accounts, spec: Path) -> Model:
    """The example model, owned by `accounts.owner`, paid in the dev token, its spec at `spec`."""
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 1_000 * TOKEN,
        1_000_000 * TOKEN, "Stake", "STK"))
    return model


def test_bonds_from_set_bond_to_claim(cli: Run, ledger: OpenLedger, accounts: Accounts, tmp_path: Path) -> None:
    for name in ("spec.json", "eval.csv", "alice.csv", "bob.csv", "mallory.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    model = _register_model(ledger, accounts, tmp_path / "spec.json")
    m = str(model.model_id)
    assert "bond: none" in _flat(cli("model", "show", m))

    # A bond from none is a raise: it waits 257 blocks, and `model show` says from which block.
    set_out = _flat(cli("model", "set-bond", "--model", m, "5", "--dev-account", "4"))
    assert f"bond of model {m}: 5.000000 oUSD per contribution, from block" in set_out
    pending = int(set_out.split("from block ")[1].split()[0])
    shown = _flat(cli("model", "show", m))
    assert f"bond: 0.000000 oUSD per contribution; raise to 5.000000 oUSD from block {pending}" in shown
    assert json.loads(cli("model", "show", m, "--json").output)[0]["bond_pending_from"] == str(pending)
    refused = cli("model", "set-bond", "--model", m, "5", "--dev-account", "5", ok=False)
    assert refused.exit_code != 0 and "ContributionBondsNotModelOwner" in _flat(refused)
    ledger.chain.w3.provider.ethereum_tester.mine_blocks(pending - ledger.chain.w3.eth.block_number)
    assert "bond: 5.000000 oUSD per contribution" in _flat(cli("model", "show", m))

    # contribute states the bond, approves exactly it, and posts it.
    people = {"alice.csv": 5, "bob.csv": 6, "mallory.csv": 9}
    ids = {}
    for name, dev in people.items():
        cli("faucet", "20", "--dev-account", str(dev))
        out = cli("contribute", "--model", m, "--public", name, "--dev-account", str(dev), "--json")
        assert "bond: 5.000000 oUSD, returned after the first round that values it unless the data is judged " \
               "harmful" in _flat(out)
        row = json.loads(out.output[out.output.index("["):])[0]
        ids[name] = int(row["contribution_id"])
        assert row["bond"] == str(5 * TOKEN)
        assert ledger.bond_of(ids[name]).status == "held"
    token = ledger.erc20(ledger.dev_payment_token)
    vault = ledger.deployment.address("ContributionBonds")
    assert token.functions.allowance(accounts.alice.address, vault).call() == 0  # exactly the bond was approved
    held = _flat(cli("status", "--dev-account", "5"))
    assert f"bonds of {accounts.alice.address}" in held and "5.000000 oUSD" in held

    # Round 1 decides the bonds; before it is final nothing can be applied.
    settle_registrations(ledger.chain)
    ledger.commit_evaluation(accounts.owner, model.model_id, 1, keccak((tmp_path / "eval.csv").read_bytes()))
    path, _ = propose_round(ledger, model.model_id, spec_path=tmp_path / "spec.json", eval_path=tmp_path / "eval.csv",
                            rounds_dir=tmp_path / "rounds", data_dir=tmp_path)
    early = cli("bonds", "apply", "--model", m, "--round", "1", ok=False)
    assert early.exit_code != 0 and "not final yet" in _flat(early)
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    submit_round_file(ledger, path, accounts.oracles[0])
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + CHALLENGE_WINDOW + 1)
    finalize_round(ledger, model.model_id, accounts.deployer)

    applied = _flat(cli("bonds", "apply", "--model", m, "--round", "1"))
    assert "applied round 1's bond decisions: 2 released, 1 forfeited (5.000000 oUSD to the stake holders)" in applied
    again = _flat(cli("bonds", "apply", "--model", m, "--round", "1"))
    assert "every bond decision of round 1 of model " + m + " is applied already (3); nothing sent" in again

    status = json.loads(cli("status", "--dev-account", "5", "--json").output)
    bonds = next(r for r in status if r["model"] == m)["bonds"]
    assert bonds["released"] == str(5 * TOKEN) and bonds["claimable"] == [str(ids["alice.csv"])]
    claimed = _flat(cli("bonds", "claim", "--all", "--dev-account", "5"))
    assert f"claimed the bond of contribution {ids['alice.csv']}: 5.000000 oUSD" in claimed
    nothing = cli("bonds", "claim", "--all", "--dev-account", "5", ok=False)
    assert nothing.exit_code == 1 and "has no bond to claim now" in _flat(nothing)
    lost = cli("bonds", "claim", str(ids["mallory.csv"]), "--dev-account", "9", ok=False)
    assert lost.exit_code == 1 and "lost its bond to the stake holders" in _flat(lost)
    mallory = _flat(cli("status", "--dev-account", "9"))
    assert "forfeited" in mallory and "5.000000 oUSD" in mallory
    usage = cli("bonds", "claim", "--dev-account", "5", ok=False)
    assert usage.exit_code == 2 and "give one CONTRIBUTION_ID or --all" in _flat(usage)


def test_contribute_to_a_model_without_a_bond_says_nothing_and_approves_nothing(cli: Run, ledger: OpenLedger,
                                                                               accounts: Accounts,
                                                                               tmp_path: Path) -> None:
    for name in ("spec.json", "alice.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    model = _register_model(ledger, accounts, tmp_path / "spec.json")
    out = cli("contribute", "--model", str(model.model_id), "--public", "alice.csv")
    assert "bond" not in out.output
    assert ledger.erc20(ledger.dev_payment_token).functions.allowance(
        accounts.alice.address, ledger.deployment.address("ContributionBonds")).call() == 0


def test_relayed_contribute_signs_a_permit_for_the_bond_and_the_contributor_sends_nothing(
        cli: Run, ledger: OpenLedger, accounts: Accounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`contribute --relayer-dev-account 9` with a contributor key that holds no ETH: the CLI says what the permit
    lets the vault take, and until when, before it signs; the relayer sends the commitment and the registration
    with the permit (one transaction); the bond is posted and the contributor sent no transaction."""
    from eth_account import Account

    for name in ("spec.json", "alice.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    model = _register_model(ledger, accounts, tmp_path / "spec.json")
    ledger.set_bond_policy(accounts.owner, model.model_id, 10 * TOKEN)
    ledger.chain.w3.provider.ethereum_tester.mine_blocks(257)
    poor = Account.from_key(keccak(text="a contributor without ETH"))
    token = ledger.erc20(ledger.dev_payment_token)
    minted = _flat(cli("faucet", "20", "--to", poor.address, "--dev-account", "8"))
    assert f"minted 20 oUSD to {poor.address}" in minted
    monkeypatch.setenv("POOR_KEY", poor.key.hex())
    out = cli("contribute", "--model", str(model.model_id), "--public", "alice.csv", "--key-env", "POOR_KEY",
              "--relayer-dev-account", "9")
    flat = _flat(out)
    assert (f"signing an EIP-2612 permit as {poor.address}: permits the bond vault to take 10.000000 oUSD for this "
            "registration, until") in flat
    assert flat.index("permits the bond vault") < flat.index("registered:")
    assert f"by {poor.address} (relayed by {accounts.stranger.address}, gas" in flat
    cid = int(flat.split("contribution ")[1].split()[0])
    assert ledger.bond_of(cid).status == "held" and ledger.bond_of(cid).amount == 10 * TOKEN
    assert int(token.functions.balanceOf(poor.address).call()) == 10 * TOKEN
    assert ledger.chain.w3.eth.get_transaction_count(poor.address) == 0

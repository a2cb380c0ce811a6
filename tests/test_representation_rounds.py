"""A whole round on the embedded chain from Parquet / .npz embeddings (issue 26): propose, sign k of n, submit,
finalize, verify with the data; the round file records the embedding's identity and leaves the file of another model out, with why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from eth_utils import keccak

from _ledger_setup import settle_registrations

from openledger_chain.chain import dev_accounts
from openledger_chain.contracts import OpenLedger
from openledger_chain.oracle import claim_from_round_file, finalize_round, propose_round, read_round_file, sign_round_file, submit_round_file
from openledger_chain.types import ContributionKind, ModelParams
from openledger_chain.verify import RecomputeInputs, verify_round

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "embeddings"
OWNER = dev_accounts()[4]
TOKEN = 10**18


def test_a_round_of_embeddings_on_chain(ledger: OpenLedger, accounts, tmp_path: Path) -> None:
    for name in ("spec.json", "eval.parquet", "alice.parquet", "carol.npz", "copycat.parquet", "dave.parquet"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    spec = tmp_path / "spec.json"
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 1_000 * TOKEN,
        1_000_000 * TOKEN, "Stake", "STK",
    ))
    people = {"alice.parquet": accounts.alice, "carol.npz": accounts.bob, "copycat.parquet": accounts.carol,
              "dave.parquet": accounts.payer}
    for filename, who in people.items():
        ledger.register_contribution(who, model.model_id, ContributionKind.DATA,
                                     keccak((tmp_path / filename).read_bytes()), filename)
    settle_registrations(ledger.chain)
    round_id = ledger.distributor.functions.finalizedRound(model.model_id).call()[1] + 1
    ledger.commit_evaluation(OWNER, model.model_id, round_id, keccak((tmp_path / "eval.parquet").read_bytes()))
    path, round_file = propose_round(ledger, model.model_id, spec_path=spec, eval_path=tmp_path / "eval.parquet",
                                     rounds_dir=tmp_path / "rounds", data_dir=tmp_path)
    body = round_file.body
    assert body["method"]["representation"]["model_hash"] == json.loads(spec.read_text())["embedding"]["model_hash"]
    excluded = {i["uri"]: i.get("excluded") for i in body["inputs"]}
    assert excluded["dave.parquet"] == "malformed: column 'embedding': dimension 64, the spec says 128"
    for oracle in accounts.oracles[:2]:
        sign_round_file(ledger, path, oracle)
    submit_round_file(ledger, path, accounts.oracles[0], chunk=2)
    # A committee member recomputes the round from the Parquet/.npz files: every check holds, attribution included.
    check = verify_round(ledger, round_file_path=path,
                         attribution=RecomputeInputs(spec, tmp_path / "eval.parquet", tmp_path))
    assert check.ok and not check.differences and "attribution" in {c.name for c in check.checks if c.ok}, check.checks
    tester = ledger.chain.w3.provider.ethereum_tester
    tester.time_travel(ledger.chain.w3.eth.get_block("latest")["timestamp"] + 3601)
    finalize_round(ledger, read_round_file(path).round.model_id, accounts.deployer)
    paid = round_file.cumulative
    assert paid[accounts.alice.address] > 0 and paid[accounts.bob.address] > 0
    assert paid.get(accounts.carol.address, 0) == 0 and paid.get(accounts.payer.address, 0) == 0
    stake = ledger.stake_token(model.model_id)
    amount, _ = claim_from_round_file(ledger, path, accounts.bob.address, accounts.bob)
    assert stake.functions.balanceOf(accounts.bob.address).call() == amount == paid[accounts.bob.address]

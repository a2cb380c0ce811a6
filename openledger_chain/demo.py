"""The end-to-end demo on the embedded chain, as a sequence of steps a person can follow.

The life of a model over two rounds: deploy -> register a model -> register contributions of every
kind -> pay usage fees while no stake exists (held for the first holders) -> round 1 on the
evaluation set the owner committed, signed by 2 of 3 oracles, its score list published on-chain,
finalized after the challenge window -> contributors claim their stake (and with it the held fees)
-> more usage fees -> the owner reveals round 1's evaluation set; a new contributor arrives -> round 2
on a fresh evaluation set re-values everyone -> each contributor claims the difference, one of them
with a proof rebuilt from the chain alone -> fees over both periods -> `verify` of both rounds, by an
outsider and by the guardian.

Every contributed file and revealed evaluation set is encrypted to the committee (the 3 oracles and the
guardian) and served over HTTP from a local server: only the committee's caches ever hold plaintext.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from openledger_chain.chain import Chain, connect, dev_accounts
from openledger_chain.claims import claim_from_chain
from openledger_chain.committee import committee_identities, contributor_recipient, read_committee, rewrap
from openledger_chain.confidential import dev_identity, encrypt_file, recipient_of
from openledger_chain.contracts import OpenLedger
from openledger_chain.deployments import ensure_deployment
from openledger_chain.fetch import FetchSettings
from openledger_chain.oracle import (
    RecomputeInputs,
    claim_from_round_file,
    finalize_round,
    propose_round,
    sign_owner_attestation,
    sign_round_file,
    submit_round_file,
)
from openledger_chain.types import ContributionKind, ModelParams
from openledger_chain.verify import verify_round

EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "examples" / "attribution"
TOKEN = 10**18
CHALLENGE_WINDOW = 3600
# ContributionRegistry.REVEAL_PERIOD_BLOCKS: how long an older commitment can still displace a registration.
REVEAL_PERIOD_BLOCKS = 256

# (name, kind, file in examples/attribution); compute and evaluation claims are written by the demo,
# since they carry the model owner's signature over the model id.
CONTRIBUTIONS = [
    ("alice", ContributionKind.DATA, "alice.csv"),
    ("bob", ContributionKind.DATA, "bob.csv"),
    ("carol", ContributionKind.DATA, "carol.csv"),
    ("mallory", ContributionKind.DATA, "mallory.csv"),  # flipped labels
    ("annie", ContributionKind.ANNOTATION, "annie.csv"),
    ("copycat", ContributionKind.DATA, "copycat.csv"),  # alice's rows with a little jitter
    ("tuner", ContributionKind.FINETUNE, "recipe.json"),
    ("gpu", ContributionKind.COMPUTE, None),
    ("evaluator", ContributionKind.EVALUATION, None),
]

Step = Callable[[str, list[dict[str, Any]]], None]


@dataclass(frozen=True)
class DemoResult:
    ledger: OpenLedger
    model_id: int
    round_file: Path
    second_round_file: Path
    stake: dict[str, int]
    fees_withdrawn: int


def contributor_account(name: str) -> LocalAccount:
    """A deterministic demo key per contributor name (never use such keys outside a local chain)."""
    return Account.from_key(keccak(text=f"openledger demo contributor {name}"))


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_folder(folder: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `folder` over HTTP (as `python3 -m http.server` does) for the duration, on a free port unless
    `port` is given; yields its base URL."""
    handler = functools.partial(_QuietFiles, directory=str(folder))
    httpd = ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run_demo(workdir: Path, step: Step, chain: Chain | None = None) -> DemoResult:
    """Run the whole demo; `step(title, rows)` is called after each stage with rows to show."""
    workdir.mkdir(parents=True, exist_ok=True)
    published = workdir / "published"  # what contributors upload: ciphertext only
    shutil.rmtree(published, ignore_errors=True)
    published.mkdir()
    with serve_folder(published) as base_url:
        return _run(workdir, published, base_url, step, chain or connect("embedded"))


def _run(workdir: Path, published: Path, base_url: str, step: Step, chain: Chain) -> DemoResult:
    dev = dev_accounts()
    deployer, oracles, owner, payer = dev[0], dev[1:4], dev[4], dev[8]
    people = {name: contributor_account(name) for name, _, _ in CONTRIBUTIONS}

    deployment, _ = ensure_deployment(
        chain, deployer, oracles=[o.address for o in oracles], threshold=2, challenge_window=CHALLENGE_WINDOW
    )
    ledger = OpenLedger(chain, deployment)
    step("Deployed contracts (embedded chain)", [
        {"contract": name, "address": c.address, "block": c.block_number} for name, c in deployment.contracts.items()
    ] + [{"contract": "oracles (2 of 3 must sign)", "address": ", ".join(o.address for o in oracles), "block": ""}])

    # The committee (3 oracles and the guardian, the deployer on local chains) publishes encryption keys; one
    # member opens epoch 1 and wraps its key to each of them.
    committee = [deployer, *oracles]
    for member in committee:
        ledger.publish_encryption_key(member, recipient_of(dev_identity(bytes(member.key))))
    rewrap(ledger, oracles[0], dev_identity(bytes(oracles[0].key)), read_committee(ledger))
    epoch, committee_key = contributor_recipient(read_committee(ledger))
    step("The committee published its encryption keys; contributors encrypt to it", [
        {"member": m.address, "role": "guardian" if m is deployer else "oracle",
         "encryption key": recipient_of(dev_identity(bytes(m.key)))[:20] + "…"} for m in committee
    ] + [{"member": f"committee key, epoch {epoch}", "role": "", "encryption key": committee_key[:20] + "…"}])

    def publish(path: Path) -> str:
        """Encrypt `path` to the committee into the served folder; its URL."""
        encrypt_file(path, published / (path.name + ".age"), committee_key)
        return f"{base_url}/{path.name}.age"

    def member_fetch(member: LocalAccount) -> FetchSettings:
        """A committee member's fetch: its own cache, opened with the epoch keys wrapped to it."""
        identities = committee_identities(ledger, dev_identity(bytes(member.key)))
        return FetchSettings(cache_dir=workdir / "committee-cache" / member.address, identities=identities)

    for account in people.values():
        chain.send_value(deployer, account.address, 10 * TOKEN)

    data_dir = workdir / "contributions"
    data_dir.mkdir(exist_ok=True)
    spec_path = workdir / "spec.json"
    shutil.copyfile(EXAMPLE_DIR / "spec.json", spec_path)
    eval_path = workdir / "eval.csv"
    shutil.copyfile(EXAMPLE_DIR / "eval.csv", eval_path)

    payment_token = deployment.address("DevPaymentToken")
    model, _ = ledger.register_model(owner, ModelParams(
        spec_hash=keccak(spec_path.read_bytes()),
        spec_uri=spec_path.resolve().as_uri(),
        payment_token=payment_token,
        contributor_share_bps=3_000,
        emission_per_round=1_000 * TOKEN,
        max_emission=1_000_000 * TOKEN,
        name="Breast-cancer classifier stake",
        symbol="BCSTAKE",
    ))
    step(f"Registered model {model.model_id}", [{
        "owner": model.owner, "stake token": model.stake_token, "fees to stake holders": "30%",
        "stake per round": f"{model.emission_per_round // TOKEN} STAKE",
    }])

    rows = []
    for name, kind, filename in CONTRIBUTIONS:
        path = data_dir / (filename or f"{name}.json")
        if filename:
            shutil.copyfile(EXAMPLE_DIR / filename, path)
        else:
            units = 120 if kind is ContributionKind.COMPUTE else 40
            attestation = sign_owner_attestation(owner, model.model_id, kind.name.lower(), people[name].address, units)
            path.write_text(json.dumps({"units": units, "attestation": attestation}, indent=2) + "\n")
        content_hash = keccak(path.read_bytes())
        contribution_id, receipt = ledger.register_contribution(
            people[name], model.model_id, kind, content_hash, publish(path)
        )
        rows.append({"id": contribution_id, "contributor": name, "kind": kind.name.lower(),
                     "content hash": "0x" + content_hash.hex()[:16] + "…", "gas": receipt["gasUsed"]})
    step("Registered contributions, each encrypted to the committee and served over HTTP (one of each kind; "
         "mallory flips labels, copycat copies alice)", rows)

    token = ledger.erc20(payment_token)
    chain.transact(token.functions.mint(payer.address, 1_000 * TOKEN), payer)
    ledger.pay_usage(payer, model.model_id, 100 * TOKEN)
    report = ledger.fee_report(model.model_id)
    step("Usage fees paid before any stake exists", [{
        "paid": _fmt(report["paid"]), "to owner": _fmt(report["to_owner"]),
        "held for the first round's stake holders": _fmt(report["held_for_first_holders"]),
    }])

    # A registration counts in a round once no older commitment can displace it (256 blocks after its own
    # commitment): on a real chain the time until the next round; here, blocks mined at once.
    chain.mine_blocks(REVEAL_PERIOD_BLOCKS)

    rounds_dir = workdir / "rounds"
    ledger.commit_evaluation(owner, model.model_id, 1, keccak(eval_path.read_bytes()))
    # Every demo runs on a fresh chain: a round file left by an earlier run is stale.
    round_path, round_file = propose_round(
        ledger, model.model_id, spec_path=spec_path, eval_path=eval_path, rounds_dir=rounds_dir, data_dir=data_dir,
        overwrite=True, fetch=member_fetch(oracles[0]),
    )
    for oracle in oracles[:2]:  # each reruns the attribution and signs only if every score matches
        sign_round_file(ledger, round_path, oracle,
                        RecomputeInputs(spec_path, eval_path, data_dir, fetch=member_fetch(oracle)))
    submitted = submit_round_file(ledger, round_path, oracles[0])
    scores = {s["account"]: s for s in round_file.body["scores"]}
    values = {c["contributor"]: float(c["value"]) for c in round_file.body["contributions"]}
    step(f"Round 1 proposed once every registration settled ({REVEAL_PERIOD_BLOCKS} blocks mined), on the "
         f"evaluation set the owner committed, recomputed and signed by 2 of 3 oracles, submitted; "
         f"{submitted.published_entries} scores published on-chain", [
        {"contributor": name, "kind": kind.name.lower(), "value": f"{values[people[name].address]:+.4f}",
         "stake": _fmt(int(scores[people[name].address]["amount"]))}
        for name, kind, _ in CONTRIBUTIONS
    ])

    chain.w3.provider.ethereum_tester.time_travel(chain.w3.eth.get_block("latest")["timestamp"] + CHALLENGE_WINDOW + 1)
    finalize_round(ledger, model.model_id, deployer)
    stake: dict[str, int] = {}
    for name, account in people.items():
        if account.address in round_file.cumulative:
            amount, _ = claim_from_round_file(ledger, round_path, account.address, account)
            stake[name] = amount
    ledger.pay_usage(payer, model.model_id, 50 * TOKEN)
    step("Finalized after the challenge window; contributors claimed stake; 50 more paid in fees", [
        {"contributor": name, "stake": _fmt(amount),
         "fees earned": _fmt(ledger.fees_of(model.model_id, people[name].address))}
        for name, amount in stake.items()
    ])

    best = max(stake, key=lambda n: stake[n])
    withdrawn, _ = ledger.withdraw_fees(people[best], model.model_id)
    report = ledger.fee_report(model.model_id)
    step(f"{best} withdrew its fees", [{
        "withdrawn": _fmt(withdrawn), "total paid": _fmt(report["paid"]), "owner received": _fmt(report["to_owner"]),
        "held": _fmt(report["held_for_first_holders"]), "stake supply": _fmt(report["stake_supply"]),
    }])

    # Round 2: round 1's evaluation set is published, a new contributor arrives, and everyone is re-valued
    # on a fresh evaluation set the owner committed before the round.
    # Revealed to the committee only: the oracles fetch it and check it against the owner's commitment.
    ledger.reveal_evaluation(owner, model.model_id, 1, publish(eval_path))
    newcomer = contributor_account("dave")
    chain.send_value(deployer, newcomer.address, 10 * TOKEN)
    people["dave"] = newcomer
    dave_path = data_dir / "dave.csv"
    shutil.copyfile(EXAMPLE_DIR / "dave.csv", dave_path)
    ledger.register_contribution(newcomer, model.model_id, ContributionKind.DATA, keccak(dave_path.read_bytes()),
                                 publish(dave_path))
    chain.mine_blocks(REVEAL_PERIOD_BLOCKS)  # dave's registration settles before round 2 reads the registry
    eval2_path = workdir / "eval2.csv"
    shutil.copyfile(EXAMPLE_DIR / "eval2.csv", eval2_path)
    ledger.commit_evaluation(owner, model.model_id, 2, keccak(eval2_path.read_bytes()))
    # Round 1's revealed set is fetched by every oracle from the URI on the chain, and counted.
    second_path, second = propose_round(
        ledger, model.model_id, spec_path=spec_path, eval_path=eval2_path, rounds_dir=rounds_dir, data_dir=data_dir,
        overwrite=True, fetch=member_fetch(oracles[1]),
    )
    for oracle in oracles[1:3]:  # another pair of oracles this time
        sign_round_file(ledger, second_path, oracle, RecomputeInputs(
            spec_path, eval2_path, data_dir, fetch=member_fetch(oracle)))
    submit_round_file(ledger, second_path, oracles[1])
    chain.w3.provider.ethereum_tester.time_travel(chain.w3.eth.get_block("latest")["timestamp"] + CHALLENGE_WINDOW + 1)
    finalize_round(ledger, model.model_id, deployer)
    amounts = {s["account"]: int(s["amount"]) for s in second.body["scores"]}
    rows = []
    for name, account in people.items():
        total = second.cumulative.get(account.address, 0)
        if total == 0:
            continue
        # dave claims with a proof rebuilt from the chain alone; the others with the round file.
        claimed, _ = (claim_from_chain(ledger, model.model_id, account.address, account) if name == "dave"
                      else claim_from_round_file(ledger, second_path, account.address, account))
        stake[name] = stake.get(name, 0) + claimed
        rows.append({"contributor": name, "round 2 stake": _fmt(amounts.get(account.address, 0)),
                     "cumulative": _fmt(total), "claimed now": _fmt(claimed),
                     "how": "proof from the chain alone" if name == "dave" else "round file"})
    step("Round 2 on a fresh evaluation set (dave joined; everyone re-valued); each claims the difference", rows)

    ledger.pay_usage(payer, model.model_id, 50 * TOKEN)
    step("Fees over both periods (50 more paid after round 2)", [
        {"contributor": name, "stake": _fmt(amount),
         "fees withdrawable": _fmt(ledger.fees_of(model.model_id, people[name].address))}
        for name, amount in stake.items()
    ])
    # An outsider checks everything that needs no data; the guardian, a committee member, also recomputes the
    # attribution from the encrypted contributions.
    outsider = [verify_round(ledger, round_file_path=path) for path in (round_path, second_path)]
    guardian = [verify_round(ledger, round_file_path=path, attribution=RecomputeInputs(
        spec_path, evaluation, data_dir, fetch=member_fetch(deployer)))
        for path, evaluation in ((round_path, eval_path), (second_path, eval2_path))]
    step("An outsider and the guardian verify both rounds from their files and the chain", [
        {"round": mine.round_id, "who": who, "checks passed": sum(c.ok is True for c in mine.checks),
         "failed": sum(c.ok is False for c in mine.checks),
         "attribution": {True: "recomputed: identical", False: "recomputed: DIFFERS", None: "not recomputed (no key)"}[
             next(c.ok for c in mine.checks if c.name == "attribution")],
         "verdict": mine.verdict.split(" (")[0]}
        for pair in zip(outsider, guardian) for who, mine in zip(("outsider", "guardian"), pair)
    ])
    return DemoResult(ledger, model.model_id, round_path, second_path, stake, withdrawn)


def _fmt(amount: int) -> str:
    return f"{amount / TOKEN:,.4f}"

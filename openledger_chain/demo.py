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
from dataclasses import dataclass, field, replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from openledger_chain.bonds import apply_round_bonds, claim_bonds
from openledger_chain.chain import Chain, connect, dev_accounts
from openledger_chain.claims import claim_from_chain
from openledger_chain.committee import committee_identities, contributor_recipient, read_committee, rewrap
from openledger_chain.confidential import dev_identity, encrypt_file, recipient_of
from openledger_chain.contracts import OpenLedger
from openledger_chain.deployments import ensure_deployment
from openledger_chain.fetch import FetchSettings
from openledger_chain.oracle import (
    EMISSION_BLOCK,
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
#: The model's bond per contribution (issue 23), in the payment token; a raise from none waits this many blocks.
BOND = 5 * TOKEN
BOND_RAISE_DELAY_BLOCKS = 257
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
    #: The improvement-policy model's two round files (round 2 improves nothing and mints 0).
    improvement_rounds: tuple[Path, Path] | None = None
    # Issue 23: each contributor's bond, as the rounds decided it ("released (claimed back)", "forfeited: ...").
    bonds: dict[str, str] = field(default_factory=dict)
    #: Every step the demo showed, as (title, rows), in order.
    steps: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)


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
    steps: list[tuple[str, list[dict[str, Any]]]] = []

    def show(title: str, rows: list[dict[str, Any]]) -> None:
        steps.append((title, rows))
        step(title, rows)

    with serve_folder(published) as base_url:
        result = _run(workdir, published, base_url, show, chain or connect("embedded"))
    return replace(result, steps=steps)


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
    token = ledger.erc20(payment_token)
    _set_bond(ledger, owner, model.model_id, step)

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
        bond = _post_bond(ledger, token, people[name], model.model_id)
        contribution_id, receipt = ledger.register_contribution(
            people[name], model.model_id, kind, content_hash, publish(path)
        )
        rows.append({"id": contribution_id, "contributor": name, "kind": kind.name.lower(),
                     "content hash": "0x" + content_hash.hex()[:16] + "…", "bond": _fmt(bond), "gas": receipt["gasUsed"]})
    step("Registered contributions, each encrypted to the committee and served over HTTP (one of each kind; "
         "mallory flips labels, copycat copies alice)", rows)

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

    bonds: dict[str, str] = {}
    _settle_bonds(ledger, round_path, payer, people, model.model_id, 1, bonds, step)

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
    _post_bond(ledger, token, newcomer, model.model_id)
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
    _settle_bonds(ledger, second_path, payer, people, model.model_id, 2, bonds, step)

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
    improvement = _improvement_model(ledger, step, workdir, data_dir, rounds_dir, owner, oracles, deployer, publish,
                                     member_fetch)
    return DemoResult(ledger, model.model_id, round_path, second_path, stake, withdrawn,
                      improvement_rounds=improvement, bonds=bonds)


def _improvement_model(ledger: OpenLedger, step: Step, workdir: Path, data_dir: Path, rounds_dir: Path,
                       owner: LocalAccount, oracles: list[LocalAccount], guardian: LocalAccount,
                       publish: Callable[[Path], str],
                       member_fetch: Callable[[LocalAccount], FetchSettings]) -> tuple[Path, Path]:
    """Emission tied to measured improvement (issue 23): a second model, whose spec sets
    `"emission": {"policy": "improvement", ...}`. A second model, not a switch of the first one's spec: the
    spec's hash is registered with the model and is what binds rate and cap, so a model keeps its policy.
    Kept small (alice's 80 rows, then a copy of them): round 1 mints for its gain over no data; round 2, on a
    fresh evaluation set, adds only a jittered copy of alice's rows, improves nothing and mints 0, and still
    goes through submit, publish and finalize, keeping round 1's root."""
    spec = json.loads((EXAMPLE_DIR / "spec.json").read_text())
    spec["emission"] = {"policy": "improvement", "rate": str(5_000 * TOKEN), "cap": str(1_000 * TOKEN)}
    spec_path = workdir / "spec-improvement.json"
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    model, _ = ledger.register_model(owner, ModelParams(
        spec_hash=keccak(spec_path.read_bytes()), spec_uri=spec_path.resolve().as_uri(),
        payment_token=ledger.deployment.address("DevPaymentToken"), contributor_share_bps=3_000,
        emission_per_round=1_000 * TOKEN, max_emission=1_000_000 * TOKEN, name="Improvement-paid stake",
        symbol="IMPSTAKE",
    ))
    evals = [workdir / "eval.csv", workdir / "eval2.csv"]
    joining = [("alice", "alice.csv"), ("copycat", "copycat.csv")]
    paths: list[Path] = []
    rows = []
    for round_id, ((name, filename), eval_path) in enumerate(zip(joining, evals), start=1):
        who = contributor_account(name)
        path = data_dir / filename
        ledger.register_contribution(who, model.model_id, ContributionKind.DATA, keccak(path.read_bytes()),
                                     publish(path))
        ledger.chain.mine_blocks(REVEAL_PERIOD_BLOCKS)  # the registration settles before the round reads it
        ledger.commit_evaluation(owner, model.model_id, round_id, keccak(eval_path.read_bytes()))
        round_path, round_file = propose_round(
            ledger, model.model_id, spec_path=spec_path, eval_path=eval_path, rounds_dir=rounds_dir,
            data_dir=data_dir, overwrite=True, fetch=member_fetch(oracles[0]),
        )
        for oracle in oracles[:2]:  # each recomputes the scores and both utilities before signing
            sign_round_file(ledger, round_path, oracle, RecomputeInputs(spec_path, eval_path, data_dir,
                                                                        fetch=member_fetch(oracle)))
        submit_round_file(ledger, round_path, oracles[0])
        ledger.chain.w3.provider.ethereum_tester.time_travel(
            ledger.chain.w3.eth.get_block("latest")["timestamp"] + CHALLENGE_WINDOW + 1)
        finalize_round(ledger, model.model_id, guardian)
        block = round_file.body[EMISSION_BLOCK]
        root, _, cumulative, _ = ledger.distributor.functions.finalizedRound(model.model_id).call()
        rows.append({"round": round_id, "adds": f"{name}'s rows" + (" (a copy of alice's)" if round_id == 2 else ""),
                     "U_before": block["uBefore"][:8], "U_now": block["uNow"][:8], "minted": _fmt(int(block["emission"])),
                     "root": "0x" + bytes(root).hex()[:12] + "…", "final": f"yes, {_fmt(cumulative)} in all"})
        paths.append(round_path)
    step(f"Model {model.model_id} mints by measured improvement: min(1,000, 5,000 x max(0, U_now - U_before)); "
         "round 2 adds only a copy, improves nothing, mints 0 and keeps round 1's root", rows)
    guardian_view = verify_round(ledger, round_file_path=paths[1], attribution=RecomputeInputs(
        spec_path, evals[1], data_dir, fetch=member_fetch(guardian)))
    outsider_view = verify_round(ledger, round_file_path=paths[1])
    step(f"verify round 2 of model {model.model_id}: the emission check", [
        {"who": who, "emission check": {True: "holds", False: "FAILS", None: "not run"}[row.ok], "detail": row.detail}
        for who, view in (("outsider", outsider_view), ("guardian", guardian_view))
        for row in view.checks if row.name == "emission"
    ])
    return paths[0], paths[1]


# ----- contribution bonds (issue 23)


def _set_bond(ledger: OpenLedger, owner: LocalAccount, model_id: int, step: Step) -> None:
    """The owner requires a bond per contribution; from none it is a raise, in force after the vault's delay."""
    ledger.set_bond_policy(owner, model_id, BOND)
    ledger.chain.w3.provider.ethereum_tester.mine_blocks(BOND_RAISE_DELAY_BLOCKS)
    step(f"The owner requires a bond of {_fmt(BOND)} oUSD per contribution (a raise waits "
         f"{BOND_RAISE_DELAY_BLOCKS} blocks)", [{
             "bond": _fmt(ledger.bond_amount(model_id)), "posted": "by each registration, in the payment token",
             "returned": "after the first round that values it", "forfeited": "to the stake holders, if the round "
             "judges the data harmful, malformed, an outlier or a copy"}])


def _post_bond(ledger: OpenLedger, token: Any, contributor: LocalAccount, model_id: int) -> int:
    """The contributor gets the bond in dev tokens and approves the vault for exactly it; returns the bond."""
    bond = ledger.bond_amount(model_id)
    ledger.chain.transact(token.functions.mint(contributor.address, bond), contributor)
    return ledger.approve_bond(contributor, model_id)


def _settle_bonds(ledger: OpenLedger, round_path: Path, sender: LocalAccount, people: dict[str, LocalAccount],
                  model_id: int, round_id: int, bonds: dict[str, str], step: Step) -> None:
    """Anyone sends the final round's bond decisions; contributors whose bond was released claim it back."""
    applied = apply_round_bonds(ledger, round_path, sender)
    names = {account.address: name for name, account in people.items()}
    decisions = json.loads(round_path.read_text())["body"]["bonds"]["decisions"]
    rows = []
    for d in decisions:
        name = names[d["contributor"]]
        if d["outcome"] == "released":
            (_, amount), = claim_bonds(ledger, people[name], [int(d["id"])])
            bonds[name] = "released (claimed back)"
            rows.append({"contributor": name, "bond": _fmt(amount), "decision": "released", "went to": name})
        else:
            bonds[name] = f"forfeited: {d['reason']}"
            rows.append({"contributor": name, "bond": _fmt(int(d["amount"])), "decision": f"forfeited ({d['reason']})",
                         "went to": "the stake holders, as fees"})
    step(f"Round {round_id}'s bond decisions sent by the payer (anyone may); released bonds claimed back, "
         f"{len(applied.forfeited)} forfeited to the stake holders", rows)


def _fmt(amount: int) -> str:
    return f"{amount / TOKEN:,.4f}"

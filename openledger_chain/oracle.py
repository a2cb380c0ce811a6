"""The attribution round pipeline:
gather -> verify hashes -> attribute -> allocate -> tree -> sign -> submit -> publish -> finalize.

The steps are separate functions because in production they run in different hands: one operator
proposes a round file, every oracle checks and signs it (k of n), anyone submits it, publishes its
score list and, after the challenge window, finalizes it; contributors claim from the same file.

A round file is JSON: `{"body": {...}, "roundFileHash": "0x..", "signatures": [...]}`; the hash is
keccak256 of the canonical encoding of `body` (docs/round-file.md specifies it byte for byte),
and it is part of the signed round, so a signature covers every score and every input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.logs import DISCARD
from web3.types import TxReceipt

from openledger_chain import __version__
from openledger_chain.address import to_checksum_address
from openledger_chain.attribution import (
    AttestedClaim,
    Contribution,
    Verifier,
    attestation_message,
    attribute,
)
from openledger_chain.attribution.bonds import BOND_LEAF_ENCODING, BondDecision, bonds_root, decide_bonds
from openledger_chain.attribution.emission import improvement_emission, recorded_utility, round_improvement
from openledger_chain.attribution.engine import ROW_KINDS, AttributionReport
from openledger_chain.attribution.spec import EmissionPolicy, parse_spec
from openledger_chain.chain import Calldata
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import InputError, OpenLedgerError
from openledger_chain.confidential import COMMITTEE_ONLY, CommitteeOnlyError
from openledger_chain.fetch import FetchSettings, fetch_contribution
from openledger_chain.files import parse_json, write_public_file
from openledger_chain.history import cumulative_from_lists, cumulative_tree, round_history
from openledger_chain.merkle import StandardMerkleTree
from openledger_chain.revealed import (
    RevealedSet,
    describe_left_out,
    left_out,
    revealed_files,
    revealed_on_chain,
)
from openledger_chain.round_shape import check_round_file_shape
from openledger_chain.rewards import SCORE_SCALE, allocate, quantize
from openledger_chain.rounds import (
    Round,
    ScoreEntry,
    canonical_hash,
    order_signatures,
    round_digest,
    round_file_path,
    scores_hash,
    scores_hash_prefix,
    sign_round,
    sorted_score_entries,
    to_round_json,
)
from openledger_chain.settlement import settlements, unsettled_at
from openledger_chain.sources import EventSource, chain_unless_given
from openledger_chain.types import Bond, ContributionId, Model
from openledger_chain.units import format_amount

# 2: every number a string (integers in decimal, reals with 18 fractional digits), canonical JSON with
# non-ASCII as UTF-8. See docs/round-file.md.
# 3: the signed round carries a `deadline` (unix time) after which it can no longer be submitted.
ROUND_FILE_VERSION = 3
# Score entries per publishScores transaction are sized by gas (`gas_target`, default half the block gas
# limit: about 4,500 entries on a 30M-gas chain); the first chunk tries this many to learn the gas per entry.
FIRST_CHUNK_GUESS = 200
# How long a proposed round's signatures stay submittable, from the chain time of the proposal: long enough
# for every oracle to recompute and sign, short enough that a replaced draft dies soon (issue 24).
DEFAULT_ROUND_VALIDITY = 7 * 86_400
Progress = Callable[[str, int, int], None]
#: The `bondsRoot` of a round that decides no bond (and of a round file from before bonds).
ZERO_BONDS_ROOT = "0x" + "00" * 32


class RoundError(OpenLedgerError):
    """A round file is inconsistent, or the round cannot proceed in its current on-chain state."""


@dataclass(frozen=True)
class RoundFile:
    """A proposed (and possibly signed) round, as stored on disk."""

    body: dict[str, Any]
    round_file_hash: bytes
    signatures: tuple[bytes, ...] = ()

    @property
    def round(self) -> Round:
        b = self.body
        return Round(
            model_id=int(b["modelId"]),
            round_id=int(b["roundId"]),
            merkle_root=bytes.fromhex(b["merkleRoot"][2:]),
            emission=int(b["emission"]),
            cumulative_emission=int(b["cumulativeEmission"]),
            scores_hash=bytes.fromhex(b["scoresHash"][2:]),
            method_hash=bytes.fromhex(b["methodHash"][2:]),
            round_file_hash=self.round_file_hash,
            deadline=int(b["deadline"]),
            bonds_root=bytes.fromhex(b.get("bondsRoot", ZERO_BONDS_ROOT)[2:]),
        )

    @property
    def score_entries(self) -> list[ScoreEntry]:
        return [ScoreEntry(s["account"], int(s["score"]), int(s["amount"])) for s in self.body["scores"]]

    @property
    def cumulative(self) -> dict[str, int]:
        return {c["account"]: int(c["amount"]) for c in self.body["cumulative"]}

    def tree(self) -> StandardMerkleTree:
        return StandardMerkleTree.load(self.body["tree"])

    def to_json(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "roundFileHash": "0x" + self.round_file_hash.hex(),
            "signatures": ["0x" + s.hex() for s in self.signatures],
        }


# ----- files


def write_round_file(path: Path, round_file: RoundFile) -> None:
    """Write atomically, so an interrupted run never leaves half a round file; readable by all (0644)."""
    write_public_file(path, json.dumps(round_file.to_json(), indent=1, sort_keys=True) + "\n")


def read_round_file(path: Path) -> RoundFile:
    """Read a round file and check that its body hashes to its `roundFileHash`.

    Raises:
        InputError: missing, malformed, or tampered file.
    """
    data = load_round_json(path)
    body = data.get("body") if isinstance(data, dict) else None
    version = body.get("version") if isinstance(body, dict) else None
    if version != str(ROUND_FILE_VERSION):
        raise InputError(f"round file {path} has format version {version!r}; this toolkit reads version "
                         f"\"{ROUND_FILE_VERSION}\" (see docs/round-file.md): propose the round again")
    check_round_file_shape(data, str(path))
    body = data["body"]
    stated = bytes.fromhex(data["roundFileHash"][2:])
    signatures = tuple(bytes.fromhex(s[2:]) for s in data.get("signatures", []))
    actual = canonical_hash(body)
    if actual != stated:
        raise InputError(f"round file {path} was altered: its body hashes to 0x{actual.hex()}, not 0x{stated.hex()}")
    return RoundFile(body, stated, signatures)


def load_round_json(path: Path) -> Any:
    """The decoded JSON of a round file, refused in one line if it is missing or not JSON (its version and
    shape are not checked here: `read_round_file` refuses them, `verify` reports the version as a check)."""
    if not path.is_file():
        raise InputError(f"round file {path} not found")
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InputError(f"round file {path} is malformed ({exc})") from exc


# ----- propose


def gather_manifest(
    ledger: OpenLedger, model_id: int, fetch: FetchSettings, source: EventSource | None = None,
    only: set[str] | None = None, held_back: Collection[int] = (),
) -> tuple[list[Contribution], list[dict[str, Any]]]:
    """Fetch every active contribution of the model and check it against its registered content hash.

    Returns (manifest for the attribution engine, the round file's `inputs`). A contribution that cannot
    be fetched (missing file, HTTP error, timeout, too large) or does not match its hash is left out and
    listed with the reason: it never fails the round. The registrations are read from `source` (default: a
    chain scan; `openledger_chain.indexer.reads.IndexSource` reads an index when it is current). With `only`
    (contribution ids), exactly those, withdrawn or displaced since or not: what recomputing a past round
    needs. `held_back` (ids) are left out entirely, neither fetched nor listed: registrations not settled yet
    at the round's snapshot (`openledger_chain.settlement`), which count from a later round.
    """
    manifest: list[Contribution] = []
    inputs: list[dict[str, Any]] = []
    for c in chain_unless_given(ledger, source).contributions(model_id):
        if (str(c.contribution_id) not in only) if only is not None else (c.withdrawn or c.displaced):
            continue
        if c.contribution_id in held_back:
            continue
        entry = {
            "id": str(c.contribution_id),
            "contributor": c.contributor,
            "kind": c.kind.name.lower(),
            "contentHash": "0x" + c.content_hash.hex(),
            "uri": c.uri,
        }
        fetched = fetch_contribution(c.uri, c.content_hash, fetch)
        if fetched.path is None:
            inputs.append(entry | {"excluded": fetched.excluded})
            continue
        inputs.append(entry)
        manifest.append(Contribution(entry["id"], c.contributor, entry["kind"], fetched.path, len(manifest)))
    return manifest, inputs


def propose_round(
    ledger: OpenLedger,
    model_id: int,
    *,
    spec_path: Path,
    eval_path: Path,
    rounds_dir: Path,
    data_dir: Path = Path("."),
    emission: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    revealed: Sequence[Path] = (),
    overwrite: bool = False,
    fetch: FetchSettings | None = None,
    source: EventSource | None = None,
    valid_for: int = DEFAULT_ROUND_VALIDITY,
) -> tuple[Path, RoundFile]:
    """Run attribution for the model's next round and write the unsigned round file.

    The round's `deadline` is the chain's latest block time plus `valid_for` seconds: after it the oracles'
    signatures can no longer be submitted, and the round is proposed again.

    Every evaluation set revealed on-chain for an earlier round is fetched from its URI (opened with the
    committee keys in `fetch`) and counted: its rows count as the model owner's, so copies of them earn
    nothing (their hashes go into the method record). `revealed` files stand in for those fetches, or add
    sets committed for earlier rounds but not revealed on-chain.
    An existing round file (perhaps already signed) is replaced only with `overwrite`. The registrations are
    read from `source` (default: a chain scan; see `gather_manifest`); the previous cumulative amounts always
    from the chain's published lists.

    Raises:
        InputError: the spec does not match the model's registered spec hash, or bad inputs.
        RoundError: a round is already pending, or the previous round file is missing.
    """
    model = ledger.get_model(model_id)
    if not spec_path.is_file():
        raise InputError(f"spec file {spec_path} not found")
    spec_bytes = spec_path.read_bytes()
    if keccak(spec_bytes) != model.spec_hash:
        raise InputError(
            f"{spec_path} hashes to 0x{keccak(spec_bytes).hex()}, but model {model_id} registered spec hash "
            f"0x{model.spec_hash.hex()}; use the model's registered spec"
        )
    pending = ledger.pending_round(model_id)
    if pending.round_id != 0:
        raise RoundError(f"model {model_id} already has round {pending.round_id} pending; finalize or veto it first")
    _, last_round_id, last_cumulative, _ = ledger.distributor.functions.finalizedRound(model_id).call()
    round_id = last_round_id + 1
    eval_hash, eval_committed_at = _committed_evaluation(ledger, model_id, round_id, eval_path)
    fetch = fetch or FetchSettings(base_dir=data_dir)
    # Every contribution registered up to this block is an input (or excluded with why), and every evaluation
    # set revealed up to it is counted; later ones may be too.
    registry_block = int(ledger.chain.w3.eth.block_number)
    if valid_for <= 0:
        raise InputError(f"a round must stay valid for some time, not {valid_for} seconds; choose a positive --valid-for")
    snapshot = ledger.chain.w3.eth.get_block(registry_block)
    deadline = int(snapshot["timestamp"]) + valid_for
    given = [Path(p) for p in revealed]
    on_chain = revealed_on_chain(ledger, model_id, round_id, registry_block)
    revealed_hashes = _revealed_evaluations(ledger, model_id, round_id, given, on_chain)
    revealed = revealed_files(revealed_hashes, given, on_chain, fetch)
    previous = _previous_cumulative(ledger, model_id, last_round_id)

    policy = emission_policy(model, spec_path, spec_bytes)
    if policy.improvement and emission is not None:
        raise InputError(f"model {model_id}'s spec sets the improvement emission policy: each round mints what its "
                         "measured improvement earns, so --emission cannot be given; propose without it")
    emission = model.emission_per_round if emission is None else emission
    # The distributor would refuse it only at submit, after every oracle has signed.
    if not policy.improvement and (not 0 <= emission <= model.emission_per_round
                                   or last_cumulative + emission > model.max_emission):
        raise InputError(
            f"emission {format_amount(emission, exact=True)} is over model {model_id}'s policy: at most "
            f"{format_amount(model.emission_per_round, exact=True)} per round and "
            f"{format_amount(model.max_emission, exact=True)} in all ({format_amount(last_cumulative, exact=True)} "
            "emitted so far); choose a smaller --emission"
        )
    path = round_file_path(rounds_dir, ledger.chain.network, model_id, round_id)
    if path.exists() and not overwrite:
        raise RoundError(f"{path} already exists (round {round_id} was proposed before, maybe signed); "
                         "sign and submit it, or propose again with --overwrite to replace it")
    # Registrations an older commitment could still displace after the snapshot wait for a later round.
    unsettled = unsettled_at(settlements(ledger, model_id), registry_block)
    manifest, inputs = gather_manifest(ledger, model_id, fetch, source, held_back=set(unsettled))
    locked = [i["id"] for i in inputs if i.get("excluded") == COMMITTEE_ONLY]
    if locked:
        raise CommitteeOnlyError(f"{len(locked)} contributions (first: {locked[0]}) are encrypted to the committee and "
                                 "no committee key is held here; propose as a committee member (--encryption-key)")
    if not manifest:
        if unsettled:
            raise RoundError(f"model {model_id} has no settled contribution yet: {unsettled_note(unsettled)}; "
                             f"propose again at block {max(unsettled.values())} or later (it is block {registry_block})")
        raise RoundError(f"model {model_id} has no contribution whose file is available and matches its hash")
    previous_file = round_file_path(rounds_dir, ledger.chain.network, model_id, last_round_id) if last_round_id else None
    before = (_measure_before(ledger, model, last_round_id, previous_file, spec_path, spec_bytes, eval_path, seed,
                              revealed, fetch, source, progress) if policy.improvement else None)
    report = _run_attribution(model, spec_path, spec_bytes, manifest, eval_path,
                              None if policy.improvement else emission, seed, revealed, progress,
                              copy_search_seed=bytes(snapshot["hash"]))
    improvement = None
    if policy.improvement:
        improvement = _improvement_emission(model, policy, report, before, last_round_id, last_cumulative)
        emission = int(improvement["emission"])
        report.allocations = allocate(report.scores(), emission)
    inputs = [i | {"excluded": f"malformed: {report.malformed[i['id']]}"} if i["id"] in report.malformed else i
              for i in inputs]
    allocations = {to_checksum_address(a): int(v) for a, v in (report.allocations or {}).items()}

    cumulative = dict(previous)
    for account, amount in allocations.items():
        cumulative[account] = cumulative.get(account, 0) + amount
    tree = cumulative_tree(cumulative)
    leaves = sorted(((a, v) for a, v in cumulative.items() if v > 0), key=lambda leaf: int(leaf[0], 16))
    # The published score is the fixed-point share the emission is split by, so anyone can recompute every
    # amount from the on-chain list alone: amounts = allocate_quantized(scores, emission).
    shares = quantize(report.scores())
    entries = sorted_score_entries(
        ScoreEntry(account, share, allocations.get(account, 0)) for account, share in shares.items()
    )
    method = to_round_json(dict(report.method) | {
        "package": "openledger-chain",
        "packageVersion": __version__,
        "specHash": "0x" + model.spec_hash.hex(),
        "evalHash": "0x" + eval_hash.hex(),
        "evalCommittedAt": eval_committed_at,
        "revealedEvalHashes": ["0x" + h.hex() for h in revealed_hashes],
        "scoreScale": SCORE_SCALE,
    })
    bonds_root_hex, bonds = _bond_decisions(ledger, model_id, round_id, report, inputs, rounds_dir)
    body = to_round_json({
        "version": ROUND_FILE_VERSION,
        "chainId": ledger.chain.chain_id,
        "distributor": ledger.distributor.address,
        "registry": ledger.registry.address,
        "modelId": model_id,
        "roundId": round_id,
        "method": method,
        "methodHash": "0x" + canonical_hash(method).hex(),
        "utility": report.utility,
        "inputs": inputs,
        "registryBlock": registry_block,
        # Registered but still displaceable at registryBlock: not inputs of this round (docs/round-file.md).
        "unsettled": [{"id": cid, "settlesAt": block} for cid, block in unsettled.items()],
        "contributions": report.to_json()["contributions"],
        "scores": [{"account": e.account, "score": e.score, "amount": e.amount} for e in entries],
        "scoresHash": "0x" + scores_hash(entries).hex(),
        "emission": emission,
        "cumulativeEmission": last_cumulative + emission,
        "deadline": deadline,
        "cumulative": [{"account": a, "amount": v} for a, v in leaves],
        "merkleRoot": tree.root,
        "bondsRoot": bonds_root_hex,
        "bonds": bonds,
    })
    if improvement is not None:
        body[EMISSION_BLOCK] = improvement
    body["tree"] = tree.dump()  # OpenZeppelin's standard-v1 dump as it is (its treeIndex are small integers)
    round_file = RoundFile(body, canonical_hash(body))
    write_round_file(path, round_file)
    return path, round_file


# ----- contribution bonds (issue 23)


def _bond_decisions(ledger: OpenLedger, model_id: int, round_id: int, report: AttributionReport,
                    inputs: Sequence[dict[str, Any]], rounds_dir: Path) -> tuple[str, dict[str, Any]]:
    """The bonds this round decides, as (bondsRoot, the round file's `bonds` block).

    A round decides, by :func:`~openledger_chain.attribution.bonds.decide_bonds`, the bonds of the contributions it
    values or excludes that are still held on chain and that no earlier final round decided (its decisions may not
    be applied yet: it is read from its round file). A withdrawn contribution's bond is the contract's to refund:
    the round only forfeits it, and only if the contract still lets it (`roundId <= forfeitableUntilRound`).
    A file that no committee key opens is held, not forfeited (``keys_complete=False``): a proposer cannot show
    that it holds every epoch key, and `verify` must recompute the same decisions from the same file.
    """
    block = {"leafEncoding": list(BOND_LEAF_ENCODING), "keysComplete": False, "decisions": []}
    contributors = {i["id"]: i["contributor"] for i in inputs}
    earlier = lambda k: round_file_path(rounds_dir, ledger.chain.network, model_id, k)  # noqa: E731
    decided = round_bond_rule(report, inputs)
    for cid, bond, decision in _due_bond_decisions(ledger, model_id, round_id, decided, earlier):
        block["decisions"].append({"id": cid, "contributor": contributors[cid], "amount": bond.amount,
                                   "outcome": decision.outcome, "reason": decision.reason})
    root = bonds_root([(int(d["id"]), d["outcome"]) for d in block["decisions"]])
    return root, block


def round_bond_rule(report: AttributionReport, inputs: Sequence[dict[str, Any]]) -> dict[str, BondDecision]:
    """What the forfeiture rule gives each contribution of a round (`inputs`: the round file's, whose exclusions
    count) as every round applies it: a file no committee key opens is held (``keys_complete=False``)."""
    excluded = {i["id"]: str(i["excluded"]) for i in inputs if "excluded" in i}
    return decide_bonds(report, excluded_inputs=excluded, keys_complete=False)


def _due_bond_decisions(ledger: OpenLedger, model_id: int, round_id: int, decided: Mapping[str, BondDecision],
                        earlier_file: Callable[[int], Path]) -> list[tuple[str, Bond, BondDecision]]:
    """Of the rule's `decided` outcomes, the bond decisions round `round_id` must list (see
    :func:`_bond_decisions`), oldest contribution first; `earlier_file(k)`: where round k's file is.

    Raises:
        RoundError: an earlier round decided bonds and its file is missing or does not match its root.
    """
    if not _model_ever_had_bonds(ledger, model_id):
        return []  # no policy was ever set: no contribution of the model posted a bond
    earlier = _decided_by_earlier_rounds(ledger, model_id, round_id, earlier_file)
    due = []
    for cid in sorted(decided, key=int):
        decision = decided[cid]
        if decision.outcome == "held" or cid in earlier:
            continue
        bond = ledger.bond_of(int(cid))
        if bond.status != "held":
            continue
        if bond.forfeitable_until_round and (decision.outcome != "forfeited" or round_id > bond.forfeitable_until_round):
            continue
        due.append((cid, bond, decision))
    return due


def omitted_bond_decisions(ledger: OpenLedger, body: dict[str, Any], decided: Mapping[str, BondDecision],
                           round_path: Path) -> list[str]:
    """Contributions whose bond the round file should decide (the rule's `decided` outcome, the vault still
    holds it, no earlier round beside `round_path` decided it) but does not list: an omitted forfeiture keeps a
    harmful contributor's bond, an omitted release keeps an honest one's locked.

    Raises:
        RoundError: an earlier round decided bonds and its file is not beside `round_path`.
    """
    listed = {d["id"] for d in body.get("bonds", {}).get("decisions", [])}
    due = _due_bond_decisions(ledger, int(body["modelId"]), int(body["roundId"]), decided,
                              lambda k: round_path.with_name(f"round-{k}.json"))
    return [cid for cid, _, _ in due if cid not in listed]


def _require_bonds_root(ledger: OpenLedger, body: dict[str, Any]) -> None:
    """What an oracle checks of the bond decisions before signing, without data: they hash to the signed
    `bondsRoot`, and each amount is the bond the vault holds for that contribution.

    Raises:
        RoundError: the first inconsistency found.
    """
    decisions = body.get("bonds", {}).get("decisions", [])
    root = bonds_root([(int(d["id"]), d["outcome"]) for d in decisions])
    if root != body.get("bondsRoot", ZERO_BONDS_ROOT):
        raise RoundError(f"the round file's bond decisions hash to {root}, not to its bondsRoot {body.get('bondsRoot')}")
    for d in decisions:
        if ledger.bond_of(int(d["id"])).amount != int(d["amount"]):
            raise RoundError(f"the round file lists a bond of {d['amount']} for contribution {d['id']}, the vault "
                             f"holds {ledger.bond_of(int(d['id'])).amount}")


def _require_bond_decisions(body: dict[str, Any], expected: Mapping[str, BondDecision]) -> None:
    """With the recomputed attribution: every listed bond decision is the one the forfeiture rule gives
    (`expected`: :func:`round_bond_rule`), since an oracle must not sign a forged forfeiture any more than a
    forged score.

    Raises:
        RoundError: naming the first decision that differs.
    """
    wrong = decisions_against_the_rule(body, expected)
    if wrong:
        d, shown = wrong[0]
        raise RoundError(f"the round file's bond decision for contribution {d['id']} is {d['outcome']}"
                         + (f" ({d['reason']})" if d.get("reason") else "") + f", the forfeiture rule gives "
                         f"{shown}; not signed")


def decisions_against_the_rule(body: dict[str, Any], expected: Mapping[str, BondDecision],
                               ) -> list[tuple[dict[str, Any], str]]:
    """The round file's listed bond decisions that are not the rule's `expected` outcome (and, for a forfeiture,
    reason), each with what the rule gives ("undecided", "released", "forfeited (copy)")."""
    wrong = []
    for d in body.get("bonds", {}).get("decisions", []):
        want = expected.get(d["id"])
        if want is None or want.outcome != d["outcome"] or (d["outcome"] == "forfeited" and want.reason != d["reason"]):
            wrong.append((d, "undecided" if want is None else want.outcome + (f" ({want.reason})" if want.reason else "")))
    return wrong


def _model_ever_had_bonds(ledger: OpenLedger, model_id: int) -> bool:
    """Whether the model's owner ever set a bond policy (one log query; a model without one reads no bond)."""
    if ledger.bonds is None:
        return False
    start = ledger.deployment.contracts["ContributionBonds"].block_number
    return any(e.args["modelId"] == model_id for e in ledger.events(ledger.bonds.address, ["BondPolicySet"], start))


def _decided_by_earlier_rounds(ledger: OpenLedger, model_id: int, round_id: int,
                               earlier_file: Callable[[int], Path]) -> set[str]:
    """Contribution ids whose bonds an earlier final round of the model decided, from those rounds' files (their
    roots are on chain; the decisions are published only in the files). Whichever decision is applied first wins
    on chain, so a second round deciding a bond again could overturn the first.

    Raises:
        RoundError: an earlier round decided bonds and its round file is missing or does not match its root.
    """
    ids: set[str] = set()
    for earlier in range(1, round_id):
        root = "0x" + ledger.bonds_root(model_id, earlier).hex()
        if root == ZERO_BONDS_ROOT:
            continue
        path = earlier_file(earlier)
        if not path.is_file():
            raise RoundError(f"round {earlier} of model {model_id} decided bonds (bondsRoot {root[:10]}…) but its round "
                             f"file is not at {path}: put the published round file there, so this round does not "
                             "decide those bonds again")
        decisions = read_round_file(path).body.get("bonds", {}).get("decisions", [])
        if bonds_root([(int(d["id"]), d["outcome"]) for d in decisions]) != root:
            raise RoundError(f"{path} does not list the bond decisions of round {earlier} (they do not hash to its "
                             f"bondsRoot {root[:10]}…): get the published round file")
        ids.update(d["id"] for d in decisions)
    return ids


def unsettled_note(unsettled: dict[ContributionId, int]) -> str:
    """"N contributions settle at block B and count from the next round" (B: the last of them), for propose's
    output and errors."""
    first, last = min(unsettled.values()), max(unsettled.values())
    blocks = f"block {last}" if first == last else f"blocks {first} to {last}"
    if len(unsettled) == 1:
        return f"1 contribution settles at {blocks} and counts from the next round (until then an older commitment " \
               "can displace it)"
    return (f"{len(unsettled)} contributions settle at {blocks} and count from the next round (until then an older "
            "commitment can displace them)")


def _run_attribution(model: Model, spec_path: Path, spec_bytes: bytes, manifest: list[Contribution], eval_path: Path,
                     emission: int, seed: int | None, revealed: Sequence[Path],
                     progress: Progress | None = None, copy_search_seed: bytes | None = None) -> AttributionReport:
    try:
        spec = parse_json(spec_bytes.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise InputError(f"spec file {spec_path} is not valid JSON ({exc})") from exc
    return attribute(
        spec,
        manifest,
        eval_path,
        emission=emission,
        seed=seed,
        verifier=owner_verifier(model.model_id, model.owner),
        progress=progress,
        model_id=model.model_id,
        revealed=revealed,
        # One contributor's malformed file must not block everyone's round: it is left out, with why.
        exclude_malformed=True,
        copy_search_seed=copy_search_seed,
    )


def recompute_shares(ledger: OpenLedger, body: dict[str, Any], spec_path: Path, eval_path: Path, data_dir: Path,
                     revealed: Sequence[Path] = (), fetch: FetchSettings | None = None,
                     owner: str | None = None) -> dict[str, int]:
    """The scores a round posts (account -> fixed-point share), recomputed (`recompute_report`)."""
    return quantize(recompute_report(ledger, body, spec_path, eval_path, data_dir, revealed, fetch, owner).scores())


def recompute_report(ledger: OpenLedger, body: dict[str, Any], spec_path: Path, eval_path: Path, data_dir: Path,
                     revealed: Sequence[Path] = (), fetch: FetchSettings | None = None,
                     owner: str | None = None) -> AttributionReport:
    """Rerun a round's attribution from its inputs.

    `owner` is the model owner whose attestations count (default: the current owner); for a round already
    on chain, pass the owner at its submission, as the oracles saw it.

    Raises:
        InputError: the spec or evaluation set is not the one the round used, or a file is unreadable.
    """
    model_id = int(body["modelId"])
    model = ledger.get_model(model_id)
    if owner is not None:
        model = replace(model, owner=owner)
    spec_bytes = spec_path.read_bytes() if spec_path.is_file() else b""
    if "0x" + keccak(spec_bytes).hex() != body["method"]["specHash"]:
        raise InputError(f"{spec_path} is not the spec this round used ({body['method']['specHash']})")
    eval_bytes = eval_path.read_bytes() if eval_path.is_file() else b""
    if "0x" + keccak(eval_bytes).hex() != body["method"]["evalHash"]:
        raise InputError(f"{eval_path} is not the evaluation set this round used ({body['method']['evalHash']})")
    used = {i["id"] for i in body["inputs"] if "excluded" not in i or i["excluded"].startswith("malformed")}
    # The round's own inputs, as registered: a contribution withdrawn after the round still counts in it.
    manifest, inputs = gather_manifest(ledger, model_id, fetch or FetchSettings(base_dir=data_dir), only=used)
    locked = [i["id"] for i in inputs if i.get("excluded") == COMMITTEE_ONLY]
    if locked:
        raise CommitteeOnlyError(f"{len(locked)} of its contributions are encrypted to the committee: only a committee "
                                 "member (an oracle or guardian, with its --encryption-key) can recompute the attribution")
    found = {c.id for c in manifest}
    if found != used:
        raise InputError(f"contribution files missing or changed under {data_dir}: {sorted(used - found, key=int)}")
    seed = int(body["method"]["seed"]) if body["method"].get("seed") is not None else None
    counted = [bytes.fromhex(h[2:]) for h in body["method"].get("revealedEvalHashes", [])]
    # The latest reveal of any earlier round: a set the proposer had as a file may have been revealed since.
    published = revealed_on_chain(ledger, model_id, int(body["roundId"]), int(ledger.chain.w3.eth.block_number))
    revealed = revealed_files(counted, revealed, published, fetch or FetchSettings(base_dir=data_dir))
    return _run_attribution(model, spec_path, spec_bytes, manifest, eval_path, int(body["emission"]), seed, revealed,
                            copy_search_seed=registry_block_hash(ledger, body))


def sign_owner_attestation(owner: LocalAccount, model_id: int, kind: str, contributor: str, units: int) -> dict[str, str]:
    """The `attestation` object of a compute or evaluation claim file: the owner's EIP-191 signature over
    `attestation_message`, which names the model, kind, contributor and units (so it cannot be moved to
    another model, contributor or amount; the engine counts each signature once)."""
    message = encode_defunct(text=attestation_message(model_id, kind, contributor, units))
    return {"signer": owner.address, "signature": "0x" + bytes(owner.sign_message(message).signature).hex()}


def owner_verifier(model_id: int, owner: str) -> Verifier:
    """Accept a compute/evaluation claim only if the model's owner signed exactly its units."""

    def verify(claim: AttestedClaim) -> bool:
        message = encode_defunct(text=attestation_message(model_id, claim.kind, claim.contributor, claim.units))
        try:
            signer = Account.recover_message(message, signature=bytes.fromhex(claim.signature.removeprefix("0x")))
        except (ValueError, TypeError):
            return False
        return signer == to_checksum_address(owner)

    return verify


def _previous_cumulative(ledger: OpenLedger, model_id: int, last_round_id: int) -> dict[str, int]:
    """Every account's cumulative stake after the last final round, from the chain's published score lists
    (no earlier round file needed); their tree must have the distributor's final root."""
    if last_round_id == 0:
        return {}
    cumulative = cumulative_from_lists(round_history(ledger, model_id), through_round=last_round_id)
    root, *_ = ledger.distributor.functions.finalizedRound(model_id).call()
    if cumulative_tree(cumulative).root != "0x" + bytes(root).hex():
        raise RoundError(f"the published score lists of model {model_id} do not give its final root; run "
                         f"`openledger verify --model {model_id} --round {last_round_id}` before proposing")
    return cumulative


# ----- emission tied to measured improvement (issue 23)

#: The round file body's record of an improvement-policy emission (absent under the fixed policy). Not
#: `emission`: that key is the minted amount itself, part of the signed round.
EMISSION_BLOCK = "emissionPolicy"
_BLOCK_KEYS = {"policy", "rate", "cap", "capLeft", "uNow", "uBefore", "emission", "beforeRound", "beforeRoundFileHash"}


def emission_policy(model: Model, spec_path: Path, spec_bytes: bytes) -> EmissionPolicy:
    """The emission policy of the model's spec (`spec_bytes`, already checked against its registered hash).

    Raises:
        InputError: the spec is invalid, or its improvement cap is above the model's on-chain emissionPerRound
            (the distributor would refuse every round that reaches it).
    """
    try:
        spec = parse_spec(parse_json(spec_bytes.decode("utf-8")), str(spec_path))
    except (ValueError, RecursionError) as exc:
        raise InputError(f"spec file {spec_path} is not valid JSON ({exc})") from exc
    policy = spec.emission
    if policy.improvement and policy.cap > model.emission_per_round:
        raise InputError(f"{spec_path}: emission cap {format_amount(policy.cap, exact=True)} is above model "
                         f"{model.model_id}'s on-chain emission per round ({format_amount(model.emission_per_round, exact=True)}); "
                         "register the model with a spec whose cap is at most that")
    return policy


def _valued_rows(previous: RoundFile) -> set[str]:
    """The data and annotation contributions a round valued: its inputs not left out (the only ones that
    enter a utility)."""
    return {i["id"] for i in previous.body["inputs"] if "excluded" not in i and i["kind"] in ROW_KINDS}


def _previous_final_file(ledger: OpenLedger, model_id: int, round_id: int, path: Path) -> RoundFile:
    """Round `round_id`'s file, checked against the roundFileHash of the model's final round `round_id`."""
    if not path.is_file():
        raise RoundError(f"round {round_id}'s file {path} not found: U_before values the contributions that final round "
                         "valued, which only its file lists; put the published round file there")
    previous = read_round_file(path)
    final = [r for r in round_history(ledger, model_id) if r.round.round_id == round_id and r.status == "final"]
    if not final or final[-1].round.round_file_hash != previous.round_file_hash:
        raise RoundError(f"{path} is not the file of model {model_id}'s final round {round_id} (its hash is not the "
                         "roundFileHash on-chain); put that round's published file there")
    return previous


def _measure_before(ledger: OpenLedger, model: Model, last_round_id: int, previous_path: Path | None, spec_path: Path,
                    spec_bytes: bytes, eval_path: Path, seed: int | None, revealed: Sequence[Path],
                    fetch: FetchSettings, source: EventSource | None = None,
                    progress: Progress | None = None) -> tuple[AttributionReport | None, str | None]:
    """U_before's report: the engine run again on the previous final round's valued contributions and THIS
    round's evaluation set (and revealed sets), so a new evaluation set is not progress. None before the
    first final round (U_before is then the utility of no data). Also the previous round file's hash."""
    if last_round_id == 0 or previous_path is None:
        return None, None
    previous = _previous_final_file(ledger, model.model_id, last_round_id, previous_path)
    ids = _valued_rows(previous)
    manifest, inputs = gather_manifest(ledger, model.model_id, fetch, source, only=ids)
    missing = sorted(ids - {c.id for c in manifest}, key=int)
    locked = [i["id"] for i in inputs if i.get("excluded") == COMMITTEE_ONLY]
    if locked:
        raise CommitteeOnlyError(f"{len(locked)} contributions round {last_round_id} valued are encrypted to the committee "
                                 "and no committee key is held here; measure U_before as a committee member")
    if missing:
        reason = next(i.get("excluded") for i in inputs if i["id"] == missing[0])
        raise RoundError(f"U_before cannot be measured: contribution {missing[0]}, valued in round {last_round_id}, "
                         f"is not available now ({reason}); restore its file under its registered URI")
    hash_hex = "0x" + previous.round_file_hash.hex()
    if not manifest:
        return None, hash_hex
    tick = (lambda stage, done, total: progress(f"U_before: {stage}", done, total)) if progress else None
    return _run_attribution(model, spec_path, spec_bytes, manifest, eval_path, None, seed, revealed, tick), hash_hex


def _improvement_emission(model: Model, policy: EmissionPolicy, report: AttributionReport,
                          before: tuple[AttributionReport | None, str | None], last_round_id: int,
                          last_cumulative: int) -> dict[str, Any]:
    """The round file's emission block: min(cap, rate x max(0, U_now - U_before)) from the utilities as the file
    records them (18 fractional digits, rounded down), so `verify` gets the same integer from the file alone.

    Raises:
        RoundError: a first round that improves nothing (the distributor refuses an empty tree), or an
            emission past the model's maximum.
    """
    before_report, before_hash = before
    measured = round_improvement(report, before_report, rate=policy.rate, cap=policy.cap)
    u_now, u_before = to_round_json(measured.u_now), to_round_json(measured.u_before)
    # What the model may still mint caps the round too: a round near the model's maximum mints what is left
    # instead of failing (it must still go through: it decides bonds).
    cap_left = min(policy.cap, max(0, model.max_emission - last_cumulative))
    emission = improvement_emission(recorded_utility(u_now), recorded_utility(u_before), rate=policy.rate, cap=cap_left)
    if emission == 0 and last_round_id == 0:
        raise RoundError(f"model {model.model_id}'s first round improves nothing over no data (U_now {u_now}, U_before "
                         f"{u_before}): it would mint 0, and a first round must mint stake (the distributor refuses an "
                         "empty tree); wait for contributions that improve the model")
    if emission > 0 and not any(c.share > 0 for c in report.contributors):
        raise RoundError(f"the round improves the model ({u_before} -> {u_now}) but no contribution has a positive "
                         "value to pay it to")
    block = {"policy": policy.policy, "rate": policy.rate, "cap": policy.cap, "capLeft": cap_left, "uNow": u_now,
             "uBefore": u_before,
             "emission": emission, "beforeRound": last_round_id}
    if before_hash is not None:
        block["beforeRoundFileHash"] = before_hash
    return to_round_json(block)


def emission_problems(body: dict[str, Any], policy: EmissionPolicy | None = None,
                      max_emission: int | None = None) -> list[str]:
    """What is wrong with a round file's emission block, from the file alone (and the spec's policy and the model's
    on-chain maximum emission, if known): the arithmetic from the recorded utilities, `capLeft` (the cap, or what the
    model may still mint if less), U_now against the file's utility, the minted emission against the block's. The
    utilities themselves are recomputed by `recompute_improvement` (committee only). Empty: consistent."""
    block = body.get(EMISSION_BLOCK)
    if policy is not None and policy.improvement and block is None:
        return [f"the spec sets the improvement policy, but the round file has no {EMISSION_BLOCK} block"]
    if policy is not None and not policy.improvement and block is not None:
        return [f"the spec sets the fixed policy, but the round file has an {EMISSION_BLOCK} block"]
    if block is None:
        return []
    if not isinstance(block, dict) or set(block) - _BLOCK_KEYS or block.get("policy") != "improvement":
        return [f"{EMISSION_BLOCK} must be an object with policy \"improvement\" and the fields {', '.join(sorted(_BLOCK_KEYS))}"]
    problems = []
    try:
        rate, cap, cap_left, stated = (int(block[k]) for k in ("rate", "cap", "capLeft", "emission"))
        u_now, u_before = (recorded_utility(block[k], f"{EMISSION_BLOCK}.{k}") for k in ("uNow", "uBefore"))
        expected = improvement_emission(u_now, u_before, rate=rate, cap=min(cap, cap_left))
        previous = int(body["cumulativeEmission"]) - int(body["emission"])
    except (KeyError, TypeError, ValueError) as exc:  # InputError is a ValueError
        return [f"{EMISSION_BLOCK} is malformed ({exc})"]
    if policy is not None and (rate, cap) != (policy.rate, policy.cap):
        problems.append(f"rate {rate} and cap {cap} are not the spec's ({policy.rate}, {policy.cap})")
    if cap_left > cap:
        problems.append(f"capLeft {cap_left} is above the cap {cap}")
    if max_emission is not None and cap_left != min(cap, max(0, max_emission - previous)):
        problems.append(f"capLeft {cap_left} is not min(cap, the model's maximum {max_emission} - {previous} emitted before)")
    if stated != expected:
        problems.append(f"min(capLeft, rate x max(0, uNow - uBefore)) is {expected}, the block states {stated}")
    if str(body.get("emission")) != str(block["emission"]):
        problems.append(f"the round mints {body.get('emission')}, the block's emission is {block['emission']}")
    if block["uNow"] != (body.get("utility") or {}).get("all"):
        problems.append(f"uNow {block['uNow']} is not the round's utility of all data ({(body.get('utility') or {}).get('all')})")
    if str(block.get("beforeRound")) != str(int(body["roundId"]) - 1):
        problems.append(f"beforeRound {block.get('beforeRound')} is not the round before ({int(body['roundId']) - 1})")
    return problems


def recompute_improvement(ledger: OpenLedger, body: dict[str, Any], report: AttributionReport,
                          inputs: RecomputeInputs, round_path: Path) -> dict[str, Any]:
    """The emission block recomputed: U_now from `report` (this round's attribution, rerun), U_before by
    running the engine again on the previous final round's valued contributions (its file: `inputs.previous`,
    default the sibling `round-<N-1>.json` of `round_path`) on this round's evaluation set.

    Raises:
        OpenLedgerError: the previous round file is missing or not the final one, a file is unavailable.
    """
    model = ledger.get_model(int(body["modelId"]))
    spec_bytes = inputs.spec_path.read_bytes()
    policy = emission_policy(model, inputs.spec_path, spec_bytes)
    round_id = int(body["roundId"])
    previous = inputs.previous or round_path.with_name(f"round-{round_id - 1}.json")
    fetch = inputs.fetch or FetchSettings(base_dir=inputs.data_dir)
    counted = [bytes.fromhex(h[2:]) for h in body["method"].get("revealedEvalHashes", [])]
    published = revealed_on_chain(ledger, model.model_id, round_id, int(ledger.chain.w3.eth.block_number))
    revealed = revealed_files(counted, inputs.revealed, published, fetch)
    seed = int(body["method"]["seed"]) if body["method"].get("seed") is not None else None
    before = _measure_before(ledger, model, round_id - 1, previous, inputs.spec_path, spec_bytes, inputs.eval_path, seed,
                             revealed, fetch)
    finalized_cumulative = int(body["cumulativeEmission"]) - int(body["emission"])
    return _improvement_emission(model, policy, report, before, round_id - 1, finalized_cumulative)


# ----- sign


def _committed_evaluation(ledger: OpenLedger, model_id: int, round_id: int, eval_path: Path) -> tuple[bytes, int]:
    """The evaluation set's hash and commitment block, checked against the owner's commitment for the round."""
    if not eval_path.is_file():
        raise InputError(f"evaluation set {eval_path} not found")
    eval_hash = keccak(eval_path.read_bytes())
    committed, committed_at = ledger.evaluation_commitment(model_id, round_id)
    if committed_at == 0:
        raise RoundError(
            f"model {model_id} has no evaluation set committed for round {round_id}; its owner runs "
            f"`openledger round commit-eval --model {model_id} --round {round_id} {eval_path}` first"
        )
    if committed != eval_hash:
        raise InputError(
            f"{eval_path} hashes to 0x{eval_hash.hex()}, but the owner of model {model_id} committed "
            f"0x{committed.hex()} for round {round_id}; use the committed evaluation set"
        )
    return eval_hash, committed_at


def _revealed_evaluations(ledger: OpenLedger, model_id: int, round_id: int, given: Sequence[Path],
                          on_chain: Sequence[RevealedSet]) -> list[bytes]:
    """The hashes of the evaluation sets round `round_id` counts, in the order of the rounds they were committed
    for: every set revealed on-chain for an earlier round (`on_chain`), and each `given` file, which must be the
    set committed for an earlier round."""
    by_round = {s.round_id: s.eval_hash for s in on_chain}
    if given:
        committed = {ledger.evaluation_commitment(model_id, r)[0]: r for r in range(1, round_id)}
        for path in given:
            if not path.is_file():
                raise InputError(f"revealed evaluation set {path} not found")
            digest = keccak(path.read_bytes())
            if digest not in committed:
                raise InputError(f"{path} is not the evaluation set committed for any earlier round of model {model_id}")
            by_round[committed[digest]] = digest
    return [by_round[r] for r in sorted(by_round)]


def check_round_file(ledger: OpenLedger, round_file: RoundFile) -> None:
    """Check what an oracle must check before signing: right chain and distributor, a tree whose root
    is the stated root, cumulative amounts that add up, a score list that hashes to `scoresHash`, only
    contributors of the listed inputs scored, the model's registered spec, and an evaluation set that is
    the one the model's owner committed for the round. (Whether the scores follow from the data is
    `recompute_shares`, which `sign_round_file` runs when given the spec, evaluation set and data.)

    Raises:
        RoundError: the first inconsistency found.
    """
    body = round_file.body
    if int(body["chainId"]) != ledger.chain.chain_id:
        raise RoundError(f"round file is for chain id {body['chainId']}, this node is {ledger.chain.chain_id}")
    if to_checksum_address(body["distributor"]) != ledger.distributor.address:
        raise RoundError(f"round file is for distributor {body['distributor']}, not {ledger.distributor.address}")
    tree = round_file.tree()
    if tree.root != body["merkleRoot"]:
        raise RoundError(f"round file tree root {tree.root} differs from its merkleRoot {body['merkleRoot']}")
    leaves = {to_checksum_address(a): int(v) for _, (a, v) in tree}
    if leaves != {to_checksum_address(a): v for a, v in round_file.cumulative.items()}:
        raise RoundError("round file tree leaves differ from its cumulative amounts")
    if sum(leaves.values()) != int(body["cumulativeEmission"]):
        raise RoundError("cumulative amounts do not add up to the cumulative emission")
    entries = round_file.score_entries
    if sum(e.amount for e in entries) != int(body["emission"]):
        raise RoundError("score list amounts do not add up to the round's emission")
    if "0x" + scores_hash(entries).hex() != body["scoresHash"]:
        raise RoundError("score list does not hash to the round's scoresHash")
    if "0x" + canonical_hash(body["method"]).hex() != body["methodHash"]:
        raise RoundError("method manifest does not hash to the round's methodHash")
    strangers = unlisted_payees(body, entries)
    if strangers:
        raise RoundError(f"round file scores {len(strangers)} accounts that contributed none of its inputs "
                         f"(first: {strangers[0]})")
    problems = commitment_problems(ledger, body)
    if problems:
        raise RoundError(problems[0])
    problems = emission_problems(body, max_emission=ledger.get_model(int(body["modelId"])).max_emission)
    if problems:
        raise RoundError(f"emission: {problems[0]}")
    _require_bonds_root(ledger, body)


def unlisted_payees(body: dict[str, Any], entries: Sequence[ScoreEntry]) -> list[str]:
    """Scored accounts that contributed none of the round file's inputs (none may be paid), ascending."""
    contributors = {to_checksum_address(i["contributor"]) for i in body["inputs"]}
    return sorted({e.account for e in entries if e.amount or e.score} - contributors)


def commitment_problems(ledger: OpenLedger, body: dict[str, Any]) -> list[str]:
    """How the round file's spec and evaluation set differ from the model's registered spec and the set its
    owner committed for the round (empty: they are those)."""
    model_id, round_id = int(body["modelId"]), int(body["roundId"])
    problems = []
    spec_hash = "0x" + ledger.get_model(model_id).spec_hash.hex()
    if body["method"].get("specHash") != spec_hash:
        problems.append(f"round file's spec {body['method'].get('specHash')} is not model {model_id}'s registered "
                        f"spec ({spec_hash})")
    committed, _ = ledger.evaluation_commitment(model_id, round_id)
    if "0x" + committed.hex() != body["method"].get("evalHash"):
        problems.append(f"round file's evaluation set {body['method'].get('evalHash')} is not the one committed for "
                        f"round {round_id} of model {model_id} (0x{committed.hex()})")
    missing = left_out(ledger, body)
    if missing:
        problems.append(describe_left_out(missing))
    problems.extend(copy_search_seed_problems(ledger, body))
    return problems


def registry_block_hash(ledger: OpenLedger, body: dict[str, Any]) -> bytes | None:
    """The hash of the round's registry block (`registryBlock`): the seed of its approximate copy search, which no
    contributor knew when registering. None for a file without one (proposed before registryBlock existed)."""
    if "registryBlock" not in body:
        return None
    return bytes(ledger.chain.w3.eth.get_block(int(body["registryBlock"]))["hash"])


def copy_search_seed_problems(ledger: OpenLedger, body: dict[str, Any]) -> list[str]:
    """How the round's approximate copy search seed differs from the hash of its registry block (empty: it is
    that hash, or the search was exact and the method records none). A proposer who chose the seed could choose
    which copies the candidates miss."""
    stated = body["method"].get("copy_search_seed")
    if stated is None and body["method"].get("copy_search") != "approximate":
        return []
    block = registry_block_hash(ledger, body)
    if block is None:
        return ["round file records an approximate copy search but no registryBlock to seed it from"]
    if stated != "0x" + block.hex():
        return [f"round file's copy search seed {stated} is not the hash of its registry block "
                f"{body['registryBlock']} (0x{block.hex()})"]
    return []


@dataclass(frozen=True)
class RecomputeInputs:
    """What rerunning a round's attribution needs besides the chain (see `recompute_shares`)."""

    spec_path: Path
    eval_path: Path
    data_dir: Path
    revealed: tuple[Path, ...] = ()
    fetch: FetchSettings | None = None
    #: The previous final round's file, for U_before under the improvement emission policy (default: the
    #: `round-<N-1>.json` beside the round file).
    previous: Path | None = None


def sign_round_file(ledger: OpenLedger, path: Path, oracle: LocalAccount,
                    recompute: RecomputeInputs | None = None) -> RoundFile:
    """Check the round file, add `oracle`'s EIP-712 signature to it and save it.

    With `recompute`, the attribution is rerun first and the signature refused unless every score is the
    one the file states: an oracle that signs without it trusts the proposer's scores (k of n signatures
    then protect against nothing the proposer chose to pay).
    """
    round_file = read_round_file(path)
    check_round_file(ledger, round_file)
    if not ledger.distributor.functions.isOracle(oracle.address).call():
        raise InputError(f"{oracle.address} is not an oracle of distributor {ledger.distributor.address}")
    if recompute is not None:
        report = recompute_report(ledger, round_file.body, recompute.spec_path, recompute.eval_path,
                                  recompute.data_dir, recompute.revealed, recompute.fetch)
        shares = quantize(report.scores())
        expected = round_bond_rule(report, round_file.body["inputs"])
        _require_bond_decisions(round_file.body, expected)
        omitted = omitted_bond_decisions(ledger, round_file.body, expected, path)
        if omitted:
            raise RoundError(f"the round file leaves out the bond decisions of contributions {', '.join(omitted[:5])}, "
                             "which the forfeiture rule decides and the vault still holds; not signed")
        stated = {e.account: e.score for e in round_file.score_entries}
        if shares != stated:
            differ = sorted(a for a in set(shares) | set(stated) if shares.get(a) != stated.get(a))
            raise RoundError(f"recomputed scores differ from the round file's for {len(differ)} accounts (first: "
                             f"{differ[0]}: file {stated.get(differ[0])}, recomputed {shares.get(differ[0])}); not signed")
        _check_recomputed_emission(ledger, round_file.body, report, recompute, path)
    signature = sign_round(oracle.key, ledger.chain.chain_id, ledger.distributor.address, round_file.round)
    signed = [s for s in round_file.signatures if s != signature] + [signature]
    ordered = order_signatures(ledger.chain.chain_id, ledger.distributor.address, round_file.round, signed)
    updated = RoundFile(round_file.body, round_file.round_file_hash, tuple(s for _, s in ordered))
    write_round_file(path, updated)
    return updated


def _check_recomputed_emission(ledger: OpenLedger, body: dict[str, Any], report: AttributionReport,
                               recompute: RecomputeInputs, path: Path) -> None:
    """Refuse to sign an improvement-policy round whose emission block is not the one recomputed here: the
    scores alone do not say how much the round mints."""
    model = ledger.get_model(int(body["modelId"]))
    policy = emission_policy(model, recompute.spec_path, recompute.spec_path.read_bytes())
    problems = emission_problems(body, policy, model.max_emission)
    if problems:
        raise RoundError(f"emission: {problems[0]}; not signed")
    if not policy.improvement:
        return
    recomputed = recompute_improvement(ledger, body, report, recompute, path)
    differ = sorted(k for k in _BLOCK_KEYS if recomputed.get(k) != body[EMISSION_BLOCK].get(k))
    if differ:
        raise RoundError(f"recomputed emission block differs in {', '.join(differ)} (file {differ[0]} "
                         f"{body[EMISSION_BLOCK].get(differ[0])}, recomputed {recomputed.get(differ[0])}); not signed")


# ----- submit, publish, finalize


@dataclass(frozen=True)
class SubmitResult:
    submitted: bool  # False when this exact round was already pending or final (idempotent re-run)
    published_entries: int
    receipts: tuple[TxReceipt, ...]


def submit_round_file(
    ledger: OpenLedger,
    path: Path,
    sender: LocalAccount,
    *,
    chunk: int | None = None,
    gas_target: int | None = None,
    progress: Progress | None = None,
) -> SubmitResult:
    """Submit the signed round (unless already there) and publish the rest of its score list.

    The list goes out in chunks sized by gas: as many entries as fit `gas_target` per transaction (default:
    half the block gas limit), and at most `chunk` entries if given. `sender` must be an oracle: the
    distributor lets only oracles publish scores.

    Re-running is safe, also after a crash or a SIGKILL at any point: transactions the sender still has
    waiting in the node's pool are waited for first, a round already pending with the same digest is not
    posted again, entries already published are skipped, and a round already final is reported as such.
    """
    round_file = read_round_file(path)
    check_round_file(ledger, round_file)
    round_ = round_file.round
    # A killed run may have left a submitRound or publishScores in the pool: read the state it leads to,
    # or the same chunk would be sent twice (and the second revert).
    ledger.chain.wait_until_settled(sender.address)
    _, finalized_id, _, _ = ledger.distributor.functions.finalizedRound(round_.model_id).call()
    if finalized_id >= round_.round_id:
        return SubmitResult(False, 0, ())
    if not ledger.distributor.functions.isOracle(sender.address).call():
        raise InputError(f"{sender.address} is not an oracle; only oracles may publish a round's scores")
    digest = round_digest(ledger.chain.chain_id, ledger.distributor.address, round_)
    pending = ledger.pending_round(round_.model_id)
    receipts: list[TxReceipt] = []
    submitted = False
    if pending.round_id == 0:
        ordered = order_signatures(ledger.chain.chain_id, ledger.distributor.address, round_, round_file.signatures)
        threshold = ledger.distributor.functions.threshold().call()
        if len(ordered) < threshold:
            raise RoundError(f"{path} holds {len(ordered)} oracle signatures and {threshold} are needed: more oracles "
                             "run `openledger round sign`, and their signatures are merged in (`openledger round "
                             "collect FILE SIGNATURES...`, or give them to `round submit`)")
        now = int(ledger.chain.w3.eth.get_block("latest")["timestamp"])
        if now >= round_.deadline:  # the next block's time is later still: the contract would refuse it
            raise RoundError(f"{path}'s signatures expired at its deadline {round_.deadline} (chain time is now {now}): "
                             "propose the round again (`openledger round propose --overwrite`) and have it signed anew")
        function = ledger.distributor.functions.submitRound(round_.as_tuple(), [s for _, s in ordered])
        receipts.append(ledger.chain.transact(function, sender))
        submitted = True
        already = 0
    elif pending.digest == digest:
        if pending.scores_complete:
            return SubmitResult(False, 0, ())  # some oracle's list already completed the round
        # Each oracle builds its own list: resume ours where it stopped.
        own = ledger.score_list(round_.model_id, sender.address)
        already = own.count
        if own.running_hash != scores_hash_prefix(round_file.score_entries, already):
            # What we published is not the start of this list (a chunk of another file): redo it.
            function = ledger.distributor.functions.resetScores(round_.model_id, round_.round_id)
            receipts.append(ledger.chain.transact(function, sender))
            already = 0
    else:
        raise RoundError(f"model {round_.model_id} has a different round {pending.round_id} pending; wait for it or veto it")
    entries = round_file.score_entries
    receipts += ledger.chain.transact_in_chunks(
        [e.abi_values() for e in entries[already:]],
        lambda batch: Calldata.of(ledger.distributor, "publishScores", round_.model_id, round_.round_id, list(batch)),
        sender, gas_target=gas_target, max_items=chunk, first_guess=min(chunk or FIRST_CHUNK_GUESS, FIRST_CHUNK_GUESS),
        progress=(lambda done, _total: progress("publish scores", already + done, len(entries))) if progress else None,
    )
    return SubmitResult(submitted, len(entries) - already, tuple(receipts))


def finalize_round(ledger: OpenLedger, model_id: int, sender: LocalAccount) -> TxReceipt:
    return ledger.chain.transact(ledger.distributor.functions.finalizeRound(model_id), sender)


# ----- claim


def claim_from_round_file(ledger: OpenLedger, path: Path, account: str, sender: LocalAccount) -> tuple[int, TxReceipt]:
    """Claim `account`'s stake with its proof from the round file; returns (amount minted, receipt).

    Raises:
        RoundError: the file is not the model's latest finalized round, or the account has no leaf.
        ChainError: decoded revert (for example `RewardDistributorNothingToClaim`).
    """
    round_file = read_round_file(path)
    round_ = round_file.round
    root, finalized_id, _, _ = ledger.distributor.functions.finalizedRound(round_.model_id).call()
    if finalized_id != round_.round_id or bytes(root) != round_.merkle_root:
        raise RoundError(
            f"{path} is round {round_.round_id}, but model {round_.model_id}'s latest final round is {finalized_id}; "
            "claim with the latest final round file"
        )
    account = to_checksum_address(account)
    tree = round_file.tree()
    index = next((i for i, (a, _) in tree if to_checksum_address(a) == account), None)
    if index is None:
        raise RoundError(f"{account} has no stake in round {round_.round_id} of model {round_.model_id}; nothing to claim")
    _, cumulative = tree.at(index) or (account, 0)
    proof = [bytes.fromhex(p[2:]) for p in tree.get_proof(index)]
    function = ledger.distributor.functions.claim(round_.model_id, account, int(cumulative), proof)
    receipt = ledger.chain.transact(function, sender)
    (event,) = ledger.distributor.events.Claimed().process_receipt(receipt, errors=DISCARD)
    return int(event["args"]["amount"]), receipt


"""`openledger verify`: recompute a round from its round file and the chain, trusting no oracle.

Each check is named, so a failure says what is wrong: the file's own hashes, its inputs against the
registry, the allocations against the scores, the cumulative amounts against earlier rounds, the Merkle
root, the signatures, and the round and score list the distributor holds (including whether the tree
it would pay from is the one the published lists justify). With the spec, the evaluation set and the
contribution files, the attribution itself is recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address

from openledger_chain.attribution.bonds import bonds_root
from openledger_chain.attribution.engine import AttributionReport
from openledger_chain.attribution.spec import SAMPLED_METHODS, load_spec
from openledger_chain.confidential import CommitteeOnlyError
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import InputError, OpenLedgerError
from openledger_chain.fetch import FetchSettings, fetch_contribution
from openledger_chain.round_shape import check_round_file_shape
from openledger_chain.history import RoundRecord, cumulative_from_lists, cumulative_tree, round_history
from openledger_chain.merkle import StandardMerkleTree
from openledger_chain.oracle import (
    EMISSION_BLOCK, ROUND_FILE_VERSION, ZERO_BONDS_ROOT, RecomputeInputs, RoundError, commitment_problems,
    decisions_against_the_rule, emission_policy, emission_problems, load_round_json, omitted_bond_decisions,
    recompute_improvement, recompute_report, round_bond_rule, unlisted_payees,
)
from openledger_chain.rewards import allocate_quantized, quantize
from openledger_chain.rounds import Round, ScoreEntry, canonical_hash, round_typed_data, scores_hash, to_round_json
from openledger_chain.settlement import Settlement, settlements
from openledger_chain.types import ContributionId


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: skipped (what it needs is missing)
    detail: str


@dataclass
class Verification:
    model_id: int
    round_id: int
    checks: list[Check] = field(default_factory=list)
    differences: list[dict[str, str]] = field(default_factory=list)  # per contributor: what, file, expected

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for c in self.checks)

    @property
    def verdict(self) -> str:
        """One line: which checks held, and which were not run (never "every check holds" when one was not)."""
        if not self.ok:
            return "FAILED: do not sign, claim with care, guardians veto"
        held = sum(c.ok is True for c in self.checks)
        skipped = [c.name for c in self.checks if c.ok is None]
        if not skipped:
            return f"every check holds ({held} of {held})"
        return f"{held} checks hold; not run: {', '.join(skipped)} (see its row for who can run it)"

    def add(self, name: str, ok: bool | None, detail: str) -> bool | None:
        self.checks.append(Check(name, ok, detail))
        return ok

    def differ(self, account: str, what: str, stated: object, expected: object) -> None:
        self.differences.append({"account": account, "what": what, "stated": str(stated), "expected": str(expected)})


def verify_round(
    ledger: OpenLedger,
    *,
    round_file_path: Path | None = None,
    model_id: int | None = None,
    round_id: int | None = None,
    attribution: RecomputeInputs | None = None,
) -> Verification:
    """Run every check that the given inputs allow. Needs a round file or both `model_id` and `round_id`.

    Raises:
        InputError: neither a readable round file nor a model and round were given.
    """
    data = _load_json(round_file_path) if round_file_path is not None else None
    body = data["body"] if data is not None else None
    if body is not None:
        model_id, round_id = int(body["modelId"]), int(body["roundId"])
    if model_id is None or round_id is None:
        raise InputError("verify needs a round file, or --model and --round")
    result = Verification(model_id, round_id)
    history = round_history(ledger, model_id)
    record = _find_record(history, round_id, data)
    stated = _stated_entries(body) if body is not None else None
    if attribution is not None and attribution.previous is None and round_file_path is not None:
        # U_before (improvement emission) values the previous round's inputs: its file sits beside this one.
        attribution = replace(attribution, previous=round_file_path.with_name(f"round-{round_id - 1}.json"))
    if data is not None:
        _check_file(result, ledger, data, round_file_path, stated or [], history, record, attribution)
    _check_chain(result, ledger, history, record, body, stated)
    return result


def _stated_entries(body: dict[str, Any]) -> list[ScoreEntry]:
    """The round file's score list."""
    return [ScoreEntry(to_checksum_address(s["account"]), int(s["score"]), int(s["amount"])) for s in body["scores"]]


# ----- the round file on its own and against the registry


def _check_file(result: Verification, ledger: OpenLedger, data: dict[str, Any], path: Path | None,
                entries: list[ScoreEntry], history: list[RoundRecord], record: RoundRecord | None,
                attribution: RecomputeInputs | None) -> None:
    body = data["body"]
    stated = str(data.get("roundFileHash", ""))
    version_ok = body.get("version") == str(ROUND_FILE_VERSION)
    result.add("format", version_ok, f"version {body.get('version')!r}" + ("" if version_ok else
                                                                          f", expected \"{ROUND_FILE_VERSION}\""))
    try:
        actual = "0x" + canonical_hash(body).hex()
        result.add("round file hash", actual == stated, f"body hashes to {_short(actual)}, file states {_short(stated)}")
        method_hash = "0x" + canonical_hash(body["method"]).hex()
        result.add("method hash", method_hash == body["methodHash"], f"method hashes to {_short(method_hash)}")
    except InputError as exc:
        result.add("round file hash", False, str(exc))
    network_ok = int(body["chainId"]) == ledger.chain.chain_id and \
        to_checksum_address(body["distributor"]) == ledger.distributor.address
    result.add("network", network_ok, f"chain id {body['chainId']}, distributor {body['distributor']}")
    settled = settlements(ledger, int(body["modelId"]))
    _check_inputs(result, ledger, body, record, entries, settled)
    _check_settlement(result, body, settled)
    _check_commitments(result, ledger, body)
    emission = int(body["emission"])
    result.add("scores hash", "0x" + scores_hash(entries).hex() == body["scoresHash"],
               f"{len(entries)} entries hash to {_short('0x' + scores_hash(entries).hex())}")
    _check_allocations(result, entries, emission, "allocations")
    report = _check_attribution(result, ledger, body, entries, attribution, record)
    _check_emission(result, ledger, body, history, attribution, report)
    _check_bond_decisions(result, ledger, body, report, path)
    if attribution is not None:
        _check_exclusions(result, body, attribution)
    _check_cumulative(result, body, entries, history)
    _check_signatures(result, ledger, data, body, record)


def _check_inputs(result: Verification, ledger: OpenLedger, body: dict[str, Any], record: RoundRecord | None,
                  entries: list[ScoreEntry], settled: dict[ContributionId, Settlement]) -> None:
    registered = {c.contribution_id: c for c in ledger.contributions(int(body["modelId"]))}
    listed = {int(i["id"]): i for i in body["inputs"]}
    wrong = []
    for cid, item in listed.items():
        c = registered.get(cid)
        if c is None or "0x" + c.content_hash.hex() != item["contentHash"] or c.contributor != \
                to_checksum_address(item["contributor"]) or c.kind.name.lower() != item["kind"]:
            wrong.append(cid)
    # Left out only counts up to the block the proposer read the registry at (signing takes time, and
    # contributions registered meanwhile belong to the next round), never after the submission.
    submitted = record.block_number if record is not None else None
    read_at = int(body["registryBlock"]) if "registryBlock" in body else None
    cutoffs = [b for b in (read_at, submitted) if b is not None]
    cutoff = min(cutoffs) if cutoffs else None
    # A registration still displaceable at registryBlock belongs to a later round (the "settlement" check).
    missing = [cid for cid, c in registered.items() if cid not in listed and not c.withdrawn and not c.displaced
               and (cutoff is None or c.block_number <= cutoff)
               and (read_at is None or cid not in settled or settled[cid].settled_at(read_at))]
    future = read_at is not None and submitted is not None and read_at > submitted
    # Nor after the chain's head: a snapshot nobody could have read (it would leave out as "unsettled" what
    # settled since).
    head = int(ledger.chain.w3.eth.block_number)
    ahead = read_at is not None and read_at > head
    detail = f"{len(listed)} inputs match the registry" if not (wrong or missing or future or ahead) else \
        f"not as registered: {wrong or 'none'}; registered but left out: {missing or 'none'}" + (
            f"; registryBlock {read_at} is after the submission block {submitted}" if future else "") + (
            f"; registryBlock {read_at} is after the chain's head {head}" if ahead else "")
    result.add("inputs", not (wrong or missing or future or ahead), detail)
    # Whatever else a file claims, only the contributors of its inputs can be paid.
    strangers = unlisted_payees(body, entries)
    for account in strangers:
        result.differ(account, "payee", "scored", "not a contributor of any input")
    result.add("payees", not strangers, "every scored account contributed an input" if not strangers
               else f"{len(strangers)} scored accounts contributed no input (see below)")


def _check_settlement(result: Verification, body: dict[str, Any], settled: dict[ContributionId, Settlement]) -> None:
    """Every input was settled at the round's snapshot (`registryBlock`): no older commitment could displace it
    after the round counted it. And every registration the file leaves out as unsettled really was, at the
    block the chain gives (the same cutoff `propose` applies, recomputed from the registry's events)."""
    if "registryBlock" not in body:
        result.add("settlement", None, "not checked: the round file has no registryBlock (an older proposal)")
        return
    read_at = int(body["registryBlock"])
    counted = [int(i["id"]) for i in body["inputs"]]
    early = [cid for cid in counted if cid in settled and not settled[cid].settled_at(read_at)]
    stated = {int(u["id"]): int(u["settlesAt"]) for u in body.get("unsettled", [])}
    wrong = [cid for cid, block in stated.items()
             if cid not in settled or settled[cid].settles_at != block or settled[cid].settled_at(read_at)]
    # The proposer saw every registration up to registryBlock: one still active (withdrawals and displacements are
    # final, so it was active then) and unsettled at it is listed, so its contributor learns when it counts.
    unlisted = [cid for cid, s in settled.items() if s.active and s.registered_at <= read_at
                and not s.settled_at(read_at) and cid not in stated and cid not in counted]
    problems = []
    if unlisted:
        problems.append(f"does not list {len(unlisted)} contributions registered by registryBlock {read_at} and not "
                        f"settled at it (first: {unlisted[0]}, settles at block {settled[unlisted[0]].settles_at})")
    if early:
        first = settled[early[0]]
        problems.append(f"counts {len(early)} contributions not settled at registryBlock {read_at} (first: "
                        f"{early[0]}, displaceable until block {first.settles_at})")
    if wrong:
        cid = wrong[0]
        actual = f"settles at block {settled[cid].settles_at}" if cid in settled else "is not registered in the model"
        problems.append(f"lists {len(wrong)} contributions as unsettled that are not as stated (first: {cid}, stated "
                        f"block {stated[cid]}, {actual})")
    result.add("settlement", not problems, "; ".join(problems) or
               f"every input settled at registryBlock {read_at}; {len(stated)} left for a later round as unsettled")


def _check_commitments(result: Verification, ledger: OpenLedger, body: dict[str, Any]) -> None:
    """The spec is the model's registered spec, and the evaluation set the one its owner committed for the round."""
    problems = commitment_problems(ledger, body)
    result.add("commitments", not problems, "; ".join(problems) or
               "the model's registered spec and the evaluation set committed for the round")


def _check_allocations(result: Verification, entries: list[ScoreEntry], emission: int, name: str) -> None:
    expected = allocate_quantized({e.account: max(e.score, 0) for e in entries}, emission) if entries else {}
    for e in entries:
        if expected.get(e.account) != e.amount:
            result.differ(e.account, f"amount ({name})", e.amount, expected.get(e.account))
    total = sum(e.amount for e in entries)
    ok = total == emission and all(expected.get(e.account) == e.amount for e in entries)
    result.add(name, ok, f"the emission ({emission}) split by the scores, to the unit"
               if ok else f"amounts sum to {total} of {emission}, or do not follow from the scores (see below)")


def _check_attribution(result: Verification, ledger: OpenLedger, body: dict[str, Any], entries: list[ScoreEntry],
                       attribution: RecomputeInputs | None, record: RoundRecord | None) -> AttributionReport | None:
    """The attribution recomputed and compared; returns the recomputed report (None if not recomputed)."""
    if attribution is None:
        result.add("attribution", None, "not recomputed: that needs the spec, the evaluation set and the contributions, "
                   "which only the committee reads; a committee member (oracle or guardian) runs verify with --spec, "
                   "--eval and its --encryption-key")
        return None
    # Exactness from the verifier's own spec (checked against the round's spec hash when recomputing),
    # never from the file: a file that calls itself "sampled" must not switch this check off.
    try:
        method = load_spec(attribution.spec_path).method.name
    except InputError:
        method = None  # recompute_report says what is wrong with the spec
    if method in SAMPLED_METHODS:
        result.add("attribution", None, f"skipped: method {method} is sampled, not reproducible exactly")
        return None
    try:
        # Attestations count for the owner the oracles saw, not whoever owns the model today.
        owner = None if record is None else ledger.model_owner_at(result.model_id, record.block_number)
        report = recompute_report(ledger, body, attribution.spec_path, attribution.eval_path, attribution.data_dir,
                                  attribution.revealed, attribution.fetch, owner)
    except CommitteeOnlyError as exc:
        result.add("attribution", None, f"not recomputed: {exc}")
        return None
    except OpenLedgerError as exc:
        result.add("attribution", False, f"could not recompute: {exc}")
        return None
    shares = quantize(report.scores())
    stated = {e.account: e.score for e in entries}
    for account in sorted(set(stated) | set(shares)):
        if stated.get(account) != shares.get(account):
            result.differ(account, "score (attribution)", stated.get(account), shares.get(account))
    # The record of how the scores were made must be the recomputation's too: the method's parameters and
    # the per-contribution table (values, rows excluded and why, derivatives), not whatever the file says.
    method = to_round_json(report.method)
    wrong_method = sorted(k for k, v in method.items() if body["method"].get(k) != v)
    table = {c["id"]: c for c in to_round_json(report.to_json())["contributions"]}
    listed = {c.get("id"): c for c in body.get("contributions", []) if isinstance(c, dict)}
    wrong_rows = sorted((i for i in set(table) | set(listed) if table.get(i) != listed.get(i)), key=str)
    same = stated == shares and not wrong_method and not wrong_rows
    detail = f"recomputed {len(shares)} scores: " + ("identical" if stated == shares else "they differ")
    if wrong_method:
        detail += f"; method fields differ: {', '.join(wrong_method)}"
    if wrong_rows:
        detail += f"; contributions table differs for {len(wrong_rows)} (first: {wrong_rows[0]})"
    result.add("attribution", same, detail)
    return report


def _check_emission(result: Verification, ledger: OpenLedger, body: dict[str, Any], history: list[RoundRecord],
                    attribution: RecomputeInputs | None, report: AttributionReport | None) -> None:
    """Emission tied to measured improvement (issue 23): a row only for a round under that policy (or whose
    spec sets it). Anyone: the block's arithmetic from its recorded utilities, U_now against the file's utility,
    the minted emission, and the previous round it measured against is the final one on-chain. The committee
    (spec, evaluation set, data): both utilities recomputed, U_before by valuing the previous final round's
    inputs on this round's evaluation set."""
    block = body.get(EMISSION_BLOCK)
    policy = None
    if attribution is not None:
        try:
            model = ledger.get_model(int(body["modelId"]))
            policy = emission_policy(model, attribution.spec_path, attribution.spec_path.read_bytes())
        except (OpenLedgerError, OSError) as exc:
            result.add("emission", False, f"the spec's emission policy cannot be read: {exc}")
            return
    if block is None and (policy is None or not policy.improvement):
        return  # the fixed policy: the distributor itself bounds the emission by the model's on-chain policy
    problems = emission_problems(body, policy, ledger.get_model(int(body["modelId"])).max_emission)
    if not problems and isinstance(block, dict) and int(block.get("beforeRound", "0")) > 0:
        before = int(block["beforeRound"])
        final = [r for r in history if r.round.round_id == before and r.status == "final"]
        stated = str(block.get("beforeRoundFileHash", "")).lower()
        if not final or "0x" + final[-1].round.round_file_hash.hex() != stated:
            problems.append(f"beforeRoundFileHash {_short(stated)} is not the file of model {result.model_id}'s final "
                            f"round {before}")
    if problems:
        result.add("emission", False, "; ".join(problems))
        return
    assert isinstance(block, dict)  # emission_problems reports a missing block under the improvement policy
    formula = (f"min(capLeft {block['capLeft']}, rate {block['rate']} x max(0, uNow {block['uNow']} - uBefore "
               f"{block['uBefore']})) = {block['emission']}")
    if report is None:
        who = "" if policy is not None else "; rate and cap as the file states them (a committee member's verify checks them against the spec)"
        result.add("emission", True, f"{formula}, from the recorded utilities; the utilities themselves were not "
                   f"recomputed (that needs the committee's data){who}")
        return
    assert attribution is not None and attribution.previous is not None
    if int(block["beforeRound"]) > 0 and not attribution.previous.is_file():
        result.add("emission", None, f"{formula}, from the recorded utilities; U_before not recomputed: it values the "
                   f"inputs of round {block['beforeRound']}, whose file {attribution.previous} is not here (put that "
                   "round's published file beside this one)")
        return
    try:
        recomputed = recompute_improvement(ledger, body, report, attribution, attribution.previous)
    except OpenLedgerError as exc:
        result.add("emission", False, f"could not recompute U_before: {exc}")
        return
    differ = sorted(k for k in set(recomputed) | set(block) if recomputed.get(k) != block.get(k))
    for key in differ:
        result.differ("(round)", f"emission {key}", block.get(key), recomputed.get(key))
    result.add("emission", not differ, f"{formula}, both utilities recomputed: identical" if not differ else
               f"recomputed emission block differs in {', '.join(differ)} (see below)")
def _check_bond_decisions(result: Verification, ledger: OpenLedger, body: dict[str, Any],
                          report: AttributionReport | None, round_path: Path | None) -> None:
    """Issue 23. "bonds root", for anyone: the listed decisions hash to the signed `bondsRoot`, each is an input
    of this round, and its contributor and amount are the bond's on chain. "bond decisions", from the recomputed
    attribution: each listed outcome (and reason) is what the forfeiture rule gives, so a forged forfeiture fails,
    and no decision the rule makes for a bond the vault still holds is left out (an omitted forfeiture keeps a
    harmful contributor's bond)."""
    decisions = body.get("bonds", {}).get("decisions", [])
    stated_root = str(body.get("bondsRoot", ZERO_BONDS_ROOT))
    computed = bonds_root([(int(d["id"]), d["outcome"]) for d in decisions])
    inputs = {i["id"]: i for i in body["inputs"]}
    wrong = []
    for d in decisions:
        bond = ledger.bond_of(int(d["id"]))
        item = inputs.get(d["id"])
        if item is None or to_checksum_address(item["contributor"]) != to_checksum_address(d["contributor"]):
            wrong.append(f"{d['id']} (not an input of this round by {d['contributor']})")
        elif bond.amount != int(d["amount"]) or bond.status == "none":
            wrong.append(f"{d['id']} (amount {d['amount']}, the bond on chain is {bond.amount})")
    if computed != stated_root:
        result.add("bonds root", False, f"{len(decisions)} decisions hash to {_short(computed)}, the round signs "
                   f"{_short(stated_root)}")
    else:
        result.add("bonds root", not wrong, f"{len(decisions)} decisions hash to the signed bondsRoot, contributors "
                   "and amounts as on chain" if not wrong else f"not as on chain: {', '.join(wrong[:3])}")
    if report is None:
        if not decisions:
            return  # nothing to recompute, and nothing the verdict should list as not run
        result.add("bond decisions", None, "not recomputed: the forfeiture rule needs the recomputed attribution "
                   "(see the attribution row)")
        return
    keys_complete = bool(body.get("bonds", {}).get("keysComplete", False))
    if keys_complete:
        result.add("bond decisions", False, "the file claims the proposer held every committee key (keysComplete); "
                   "no toolkit can show that, so a file no key opens must be held, not forfeited")
        return
    expected = round_bond_rule(report, body["inputs"])
    differ = []
    for d, shown in decisions_against_the_rule(body, expected):
        differ.append(d["id"])
        result.differ(to_checksum_address(d["contributor"]), f"bond of contribution {d['id']}",
                      d["outcome"] + (f" ({d['reason']})" if d.get("reason") else ""), shown)
    if differ:
        result.add("bond decisions", False, f"{len(differ)} decisions do not follow from the forfeiture rule: "
                   f"contributions {', '.join(differ[:5])} (see below)")
        return
    try:
        omitted = omitted_bond_decisions(ledger, body, expected, round_path) if round_path is not None else None
    except RoundError as exc:
        result.add("bond decisions", None, f"{len(decisions)} decisions follow from the forfeiture rule; whether any "
                   f"is left out is not checked: {exc}")
        return
    if omitted:
        for cid in omitted:
            result.differ("(round)", f"bond of contribution {cid}", "left out", expected[cid].outcome)
        result.add("bond decisions", False, f"the file leaves out {len(omitted)} decisions the forfeiture rule makes "
                   f"for bonds the vault still holds: contributions {', '.join(omitted[:5])} (see below)")
        return
    result.add("bond decisions", True, f"{len(decisions)} decisions follow from the forfeiture rule"
               + (", none left out" if omitted is not None else ""))


def _check_exclusions(result: Verification, body: dict[str, Any], attribution: RecomputeInputs) -> None:
    """Inputs the file left out as unavailable or mismatched, fetched here: the oracle's word is all the
    recomputation goes on. A content-addressed file (ipfs://) that arrives with its registered hash proves
    a "content hash mismatch" false; anything else may have been a fetch that failed for the oracle only."""
    left_out = [i for i in body["inputs"] if "excluded" in i and not str(i["excluded"]).startswith("malformed")]
    if not left_out:
        return
    settings = attribution.fetch or FetchSettings(base_dir=attribution.data_dir)
    here = [i for i in left_out
            if fetch_contribution(i["uri"], bytes.fromhex(i["contentHash"][2:]), settings).path is not None]
    false = [i for i in here if i["uri"].startswith("ipfs://") and i["excluded"] == "content hash mismatch"]
    for item in here:
        result.differ(to_checksum_address(item["contributor"]), f"input {item['id']}", item["excluded"],
                      "fetched here with its registered hash")
    if false:
        result.add("exclusions", False, f"{len(false)} ipfs:// inputs called 'content hash mismatch' arrive here "
                   f"with their registered hash (first: {false[0]['id']})")
    elif here:
        result.add("exclusions", None, f"{len(here)} of {len(left_out)} inputs left out were fetched here with their "
                   "registered hash; the oracle may have failed to fetch them: ask (see below)")
    else:
        result.add("exclusions", True, f"none of the {len(left_out)} inputs left out is available here either")


def _check_cumulative(result: Verification, body: dict[str, Any], entries: list[ScoreEntry],
                      history: list[RoundRecord]) -> None:
    round_id = int(body["roundId"])
    expected = cumulative_from_lists(history, through_round=round_id - 1)
    for e in entries:
        expected[e.account] = expected.get(e.account, 0) + e.amount
    expected = {a: v for a, v in expected.items() if v > 0}
    stated = {to_checksum_address(c["account"]): int(c["amount"]) for c in body["cumulative"]}
    for account in sorted(set(stated) | set(expected)):
        if stated.get(account) != expected.get(account):
            result.differ(account, "cumulative", stated.get(account), expected.get(account))
    result.add("cumulative", stated == expected,
               f"{len(stated)} leaves = earlier final rounds' published lists + this round's amounts"
               if stated == expected else "leaves differ from earlier rounds + this round (see below)")
    rebuilt = cumulative_tree(stated).root
    try:
        dumped = StandardMerkleTree.load(body["tree"]).root
    except Exception as exc:  # noqa: BLE001 - any malformed dump is a failed check, with its message
        dumped = f"unreadable dump ({exc})"
    ok = rebuilt == dumped == body["merkleRoot"]
    result.add("merkle root", ok, f"tree of the cumulative amounts: {_short(rebuilt)}, dump: {_short(dumped)}, "
               f"stated: {_short(body['merkleRoot'])}")


def _check_signatures(result: Verification, ledger: OpenLedger, data: dict[str, Any], body: dict[str, Any],
                      record: RoundRecord | None) -> None:
    """Distinct oracles, at least the threshold: as the distributor stood when the round was submitted (an
    oracle removed since does not void an honest round), or now for a round not submitted yet. A submitted
    round's signers are the ones its submission recovered (in its event): the copy of the file at hand may be
    the proposal as published, before the signatures gathered on other machines were merged."""
    at = record.block_number if record is not None else "latest"
    in_file = _file_signers(ledger, data, body)
    if record is not None:
        # Whatever signatures the file carries must still be the round's: none foreign, none twice.
        foreign = [s for s in in_file if s not in record.signers] + [s for s in set(in_file) if in_file.count(s) > 1]
        if foreign:
            result.add("signatures", False, f"the round file carries signatures that are not the submission's oracles' "
                       f"once each: {', '.join(foreign)}")
            return
        signers, where = list(record.signers), "on-chain submission"
    else:
        signers, where = in_file, "round file"
    oracles = [s for s in signers
               if s.startswith("0x") and ledger.distributor.functions.isOracle(s).call(block_identifier=at)]
    threshold = int(ledger.distributor.functions.threshold().call(block_identifier=at))
    ok = len(set(oracles)) == len(signers) and len(signers) >= threshold
    result.add("signatures", ok, f"{len(set(oracles))} distinct oracles of {len(signers)} signatures in the {where} "
               f"(threshold {threshold})" + ("" if ok else f": {', '.join(signers)}"))


def _file_signers(ledger: OpenLedger, data: dict[str, Any], body: dict[str, Any]) -> list[str]:
    message = encode_typed_data(full_message=round_typed_data(ledger.chain.chain_id, ledger.distributor.address,
                                                              _round_of(body, data)))
    signers = []
    for signature in data.get("signatures", []):
        try:
            signers.append(Account.recover_message(message, signature=bytes.fromhex(signature.removeprefix("0x"))))
        except (ValueError, TypeError):
            signers.append(f"unreadable signature {signature[:12]}…")
    return signers


# ----- what the distributor holds


def _check_chain(result: Verification, ledger: OpenLedger, history: list[RoundRecord], record: RoundRecord | None,
                 body: dict[str, Any] | None, file_entries: list[ScoreEntry] | None) -> None:
    if record is None:
        result.add("on-chain round", False,
                   f"no submission of round {result.round_id} of model {result.model_id}"
                   + (" with this round file's hash" if body is not None else ""))
        return
    round_ = record.round
    digest = bytes(ledger.distributor.functions.roundDigest(round_.as_tuple()).call())
    if body is not None:
        stated = _round_of(body, {"roundFileHash": "0x" + round_.round_file_hash.hex()})
        same = stated == round_
        result.add("on-chain round", same, f"submitted in block {record.block_number}, digest {_short('0x' + digest.hex())}"
                   + ("" if same else "; its fields differ from the file's"))
    else:
        result.add("on-chain round", True, f"submitted in block {record.block_number}, digest "
                   f"{_short('0x' + digest.hex())}, signed by {len(record.signers)} oracles")
    status_ok = record.status != "vetoed"
    result.add("status", status_ok, {"pending": "pending: in its challenge window or waiting for its scores",
                                     "final": "final: claimable", "vetoed": "vetoed by the guardian"}[record.status])
    listed = record.scores
    complete = scores_hash(listed) == round_.scores_hash
    if file_entries is not None:
        by_account = {e.account: e for e in listed}
        for e in file_entries:
            if by_account.get(e.account) != e:
                onchain = by_account.get(e.account)
                result.differ(e.account, "on-chain score entry", (e.score, e.amount),
                              (onchain.score, onchain.amount) if onchain else None)
    result.add("on-chain score list", complete, f"{len(listed)} published entries hash to the round's scoresHash"
               if complete else f"{len(listed)} published entries do not (yet) hash to the round's scoresHash")
    if listed:
        _check_allocations(result, listed, round_.emission, "on-chain allocations")
    # The tree the round pays from must be the one the published lists justify: earlier final rounds'
    # lists plus this round's.
    cumulative = cumulative_from_lists(history, through_round=round_.round_id - 1)
    for e in listed:
        cumulative[e.account] = cumulative.get(e.account, 0) + e.amount
    rebuilt = cumulative_tree(cumulative).root
    justified = rebuilt == "0x" + round_.merkle_root.hex()
    result.add("tree vs on-chain lists", justified if complete else None,
               f"lists give root {_short(rebuilt)}, the round's root is {_short('0x' + round_.merkle_root.hex())}"
               if complete else "skipped: the score list is not complete on-chain")


# ----- helpers


def _find_record(history: list[RoundRecord], round_id: int, data: dict[str, Any] | None) -> RoundRecord | None:
    """The submission of `round_id` this file describes (by its hash), or the latest one without a file."""
    candidates = [r for r in history if r.round.round_id == round_id]
    if data is not None:
        stated = str(data.get("roundFileHash", "")).lower()
        candidates = [r for r in candidates if "0x" + r.round.round_file_hash.hex() == stated]
    return candidates[-1] if candidates else None


def _round_of(body: dict[str, Any], data: dict[str, Any]) -> Round:
    return Round(int(body["modelId"]), int(body["roundId"]), bytes.fromhex(body["merkleRoot"][2:]),
                 int(body["emission"]), int(body["cumulativeEmission"]), bytes.fromhex(body["scoresHash"][2:]),
                 bytes.fromhex(body["methodHash"][2:]), bytes.fromhex(str(data["roundFileHash"])[2:]),
                 int(body["deadline"]), bytes.fromhex(str(body.get("bondsRoot", ZERO_BONDS_ROOT))[2:]))


def _load_json(path: Path) -> dict[str, Any]:
    """The round file, refused in one line unless it is well formed (its hashes and values are checked after)."""
    data = load_round_json(path)
    check_round_file_shape(data, str(path))
    return data


def _short(value: str) -> str:
    return value if not value.startswith("0x") or len(value) < 20 else f"{value[:10]}…{value[-4:]}"


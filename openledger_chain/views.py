"""What contributors and operators look at: models (with their spec and evaluation sets), rounds, published
scores, and one account's stake, claimable stake, fees and what each round made of its contributions, across
every model. Values come from the chain (events and views): rounds and contributions from the
`sources.EventSource` the caller hands over (a chain scan by default; the CLI's `--db` hands an index, read
where it has caught up with the chain). Amounts are base units (ints), for the CLI to render.

Why a contribution earned nothing (left out as malformed, valued at zero, a copy of another) is written in
its round's file only: the chain holds that file's hash (`RoundSubmitted.roundFileHash`), not the file, its
URI or the reasons. So a contributor's result per contribution comes from a round file at hand
(`RoundFiles`: files given, or a rounds folder laid out as `round propose` writes it), accepted only when it
hashes to what the chain holds for its round; without one, the chain's published score list says whether
the account was paid, and which file holds the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from openledger_chain.claims import ClaimError, claimable_from_chain
from openledger_chain.contracts import OpenLedger
from openledger_chain.errors import InputError
from openledger_chain.files import parse_json
from openledger_chain.history import RoundRecord, cumulative_from_lists
from openledger_chain.round_shape import check_round_file_shape
from openledger_chain.rounds import canonical_hash, round_file_path
from openledger_chain.sources import EventSource, chain_unless_given
from openledger_chain.types import Contribution


def model_ids(ledger: OpenLedger) -> list[int]:
    return list(range(1, int(ledger.registry.functions.modelCount().call()) + 1))


def models(ledger: OpenLedger) -> list[dict[str, Any]]:
    return [_model_row(ledger, model_id) for model_id in model_ids(ledger)]


def _model_row(ledger: OpenLedger, model_id: int) -> dict[str, Any]:
    m = ledger.get_model(model_id)
    _, final_round, emitted, _ = ledger.distributor.functions.finalizedRound(model_id).call()
    return {"model": model_id, "owner": m.owner, "stake_token": m.stake_token,
            "payment_token": m.payment_token, "holders_share_bps": m.contributor_share_bps,
            "emission_per_round": m.emission_per_round, "max_emission": m.max_emission,
            "final_round": int(final_round), "stake_emitted": int(emitted)}


def model_details(ledger: OpenLedger, model_id: int) -> dict[str, Any]:
    """`models`' row of one model, plus its latest final root, its spec (hash and URI, as registered), its
    stake token's name and symbol, and every round's evaluation set: the hash the owner committed and its
    block, and where it was revealed (URI and block; None while it is not).

    Raises:
        ContractRevertError: no such model.
    """
    row = _model_row(ledger, model_id)
    root = ledger.distributor.functions.finalizedRound(model_id).call()[0]
    logs = [log for log in ledger.events(ledger.registry.address,
                                         ("ModelRegistered", "EvaluationCommitted", "EvaluationRevealed",
                                          "EvaluationReplaced"))
            if log.args["modelId"] == model_id]
    registered = next(log.args for log in logs if log.event == "ModelRegistered")
    evaluation: dict[int, dict[str, Any]] = {}
    for log in logs:
        if log.event == "EvaluationCommitted":  # a replacement's commitment takes the place of the one before
            replaced = evaluation.get(int(log.args["roundId"]), {}).get("replaced", [])
            evaluation[int(log.args["roundId"])] = {
                "round": int(log.args["roundId"]), "eval_hash": _hex(log.args["evalHash"]),
                "committed_block": log.block_number, "revealed_uri": None, "revealed_block": None,
                "replaced": replaced}
        elif log.event == "EvaluationReplaced" and int(log.args["roundId"]) in evaluation:
            evaluation[int(log.args["roundId"])]["replaced"].append(_hex(log.args["previousEvalHash"]))
        elif log.event == "EvaluationRevealed" and int(log.args["roundId"]) in evaluation:
            evaluation[int(log.args["roundId"])] |= {"revealed_uri": log.args["uri"],
                                                     "revealed_block": log.block_number}
    return row | {"merkle_root": "0x" + bytes(root).hex(), "spec_hash": _hex(registered["specHash"]),
                  "spec_uri": registered["specURI"], "stake_name": registered["name"],
                  "stake_symbol": registered["symbol"],
                  "evaluation_sets": [evaluation[r] for r in sorted(evaluation)]}


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def rounds(ledger: OpenLedger, model_id: int, source: EventSource | None = None) -> list[dict[str, Any]]:
    """Every submission of the model's rounds (vetoed ones too), oldest first, read from `source` (default:
    a chain scan)."""
    pending = ledger.pending_round(model_id)
    return [_round_row(r, pending.challenge_ends_at if r.status == "pending" else None)
            for r in chain_unless_given(ledger, source).rounds(model_id)]


def _round_row(record: RoundRecord, challenge_ends_at: int | None) -> dict[str, Any]:
    r = record.round
    return {"round": r.round_id, "status": record.status, "block": record.block_number,
            "emission": r.emission, "cumulative_emission": r.cumulative_emission,
            "merkle_root": "0x" + r.merkle_root.hex(), "scores_hash": "0x" + r.scores_hash.hex(),
            "method_hash": "0x" + r.method_hash.hex(), "round_file_hash": "0x" + r.round_file_hash.hex(),
            "signers": record.signers, "published_scores": len(record.scores),
            "challenge_ends_at": challenge_ends_at}


def scores(ledger: OpenLedger, model_id: int, round_id: int | None = None, account: str | None = None,
           source: EventSource | None = None) -> tuple[int, list[dict[str, Any]]]:
    """The published score list of a round (default: the latest final one). Returns (round id, rows)."""
    history = chain_unless_given(ledger, source).rounds(model_id)
    candidates = [r for r in history if r.status == "final" and (round_id is None or r.round.round_id == round_id)]
    if not candidates:  # a pending round's list, when asked for by number
        candidates = [r for r in history if r.status == "pending" and r.round.round_id == round_id]
    if not candidates:
        return round_id or 0, []
    record = candidates[-1]
    wanted = to_checksum_address(account) if account else None
    rows = [{"account": e.account, "score": e.score, "amount": e.amount} for e in record.scores
            if wanted is None or e.account == wanted]
    return record.round.round_id, rows


def account_status(ledger: OpenLedger, account: str, source: EventSource | None = None,
                   round_files: RoundFiles | None = None) -> list[dict[str, Any]]:
    """Per model: the account's stake, what it can claim now, its withdrawable fees, the pending round, and
    what the latest final round and the pending round made of each of its contributions (`contributions`:
    `ContributionResult` rows, from the round files at hand where they match the chain)."""
    account = to_checksum_address(account)
    source = chain_unless_given(ledger, source)
    registered = source.contributions(None)
    rows = []
    for model_id in model_ids(ledger):
        stake_token = ledger.stake_token(model_id)
        try:
            claimable = claimable_from_chain(ledger, model_id, account, source).amount
        except ClaimError:
            claimable = 0
        pending = ledger.pending_round(model_id)
        results = contribution_results(ledger, model_id, account, source.rounds(model_id),
                                       [c for c in registered if c.model_id == model_id], round_files)
        rows.append({"model": model_id, "stake": int(stake_token.functions.balanceOf(account).call()),
                     "claimable": claimable, "fees": int(stake_token.functions.feesOf(account).call()),
                     "pending_round": pending.round_id or None,
                     "challenge_ends_at": pending.challenge_ends_at if pending.round_id else None,
                     "contributions": [r.to_row() for r in results]})
    return rows


# ----- what each round made of a contributor's contributions


def read_round_body(path: Path) -> tuple[dict[str, Any], bytes]:
    """A round file's body and the hash of its canonical encoding (what `RoundSubmitted` posts).

    Raises:
        InputError: the file is missing, not JSON, or not shaped like a round file.
    """
    if not path.is_file():
        raise InputError(f"round file {path} not found")
    try:
        data = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(f"round file {path} is malformed ({exc})") from exc
    check_round_file_shape(data, str(path))
    return data["body"], canonical_hash(data["body"])


class RoundFiles:
    """The round files at hand: files given by path, and a rounds folder laid out as `round propose` writes
    it (`<folder>/<network>/model-<id>/round-<n>.json`). A file stands for a round only when its body hashes
    to the `roundFileHash` the chain holds for that round's submission, so nobody's edited copy is believed.

    Raises (on construction):
        InputError: a given file is missing or is not a round file.
    """

    def __init__(self, paths: Iterable[Path] = (), directory: Path | None = None) -> None:
        self.directory = directory
        self._given: dict[bytes, tuple[Path, dict[str, Any]]] = {}
        for path in paths:
            body, digest = read_round_body(path)
            self._given[digest] = (path, body)
        self._matched: set[bytes] = set()

    def find(self, network: str, record: RoundRecord) -> tuple[Path, dict[str, Any]] | None:
        """The file of `record`'s round (given, else in the folder), or None when none at hand matches it."""
        wanted = record.round.round_file_hash
        if wanted in self._given:
            self._matched.add(wanted)
            return self._given[wanted]
        if self.directory is None:
            return None
        path = round_file_path(self.directory, network, record.round.model_id, record.round.round_id)
        try:
            body, digest = read_round_body(path)
        except InputError:
            return None  # absent or damaged: not this round's file
        return (path, body) if digest == wanted else None

    def unmatched(self) -> list[Path]:
        """Given files that `find` never matched to a round the chain holds (so far)."""
        return [path for digest, (path, _) in self._given.items() if digest not in self._matched]


#: What a round made of a contribution (`ContributionResult.outcome`).
OUTCOMES = {
    "valued": "valued above zero (its file says by how much)",
    "valued_zero": "valued at zero or below: it earns nothing",
    "excluded": "left out of the round whole (missing, altered, malformed, ...): `reason` says why",
    "not_an_input": "not among the round's inputs (registered after it read the registry, or withdrawn)",
    "not_valued": "an input the round's file gives no value",
    "paid": "no round file at hand; the chain's score list paid the account this round",
    "not_paid": "no round file at hand; the chain's score list paid the account nothing this round",
    "no_round_yet": "registered after the latest round was submitted: the next round values it",
}


@dataclass(frozen=True)
class ContributionResult:
    """What one round made of one contribution: from the round's file where one at hand matches the chain,
    else what the chain's published score list says of its contributor."""

    contribution_id: int
    model_id: int
    status: str  # the contribution's own: active, withdrawn or displaced
    outcome: str  # a key of OUTCOMES
    reason: str  # one line, from the round file where there is one
    round_id: int | None = None
    round_status: str | None = None  # final or pending
    round_file_hash: str | None = None  # what the chain holds for the round
    round_file: str | None = None  # the file the result was read from
    value: str | None = None  # the contribution's value in the round file (a decimal string)
    rows: int | None = None
    credited_rows: int | None = None
    rows_left_out: dict[str, int] = field(default_factory=dict)  # reason -> rows
    derivative_of: int | None = None  # the contribution whose rows it copies
    account_amount: int = 0  # stake the round allocated to the contributor (all its contributions together)

    def to_row(self) -> dict[str, Any]:
        """The fields as a view's row: `contribution`, `model` and `round` for the three ids."""
        renamed = {"contribution_id": "contribution", "model_id": "model", "round_id": "round"}
        return {renamed.get(k, k): v for k, v in asdict(self).items()}


def contribution_results(
    ledger: OpenLedger, model_id: int, account: str, history: Sequence[RoundRecord],
    contributions: Iterable[Contribution], round_files: RoundFiles | None = None,
) -> list[ContributionResult]:
    """What the model's latest final round, and its pending round, made of each of `account`'s
    `contributions` (oldest first); a contribution no round has seen yet gets one `no_round_yet` line."""
    account = to_checksum_address(account)
    mine = [c for c in contributions if to_checksum_address(c.contributor) == account]
    final = [r for r in history if r.status == "final"]
    shown = final[-1:] + [r for r in history if r.status == "pending"][-1:]
    results = []
    for c in mine:
        seen = False
        for record in shown:
            if c.block_number > record.block_number:
                continue  # registered after the round was submitted: not in it
            found = round_files.find(ledger.chain.network, record) if round_files is not None else None
            amount = next((e.amount for e in record.scores if e.account == account), 0)
            results.append(_result(c, record, found, amount))
            seen = True
        if not seen:
            latest = history[-1].round.round_id if history else None
            results.append(ContributionResult(
                c.contribution_id, model_id, _status(c), "no_round_yet",
                f"registered after round {latest} was submitted; the next round values it" if latest else
                "no round of the model yet; the first one values it"))
    return results


def _status(c: Contribution) -> str:
    return "withdrawn" if c.withdrawn else "displaced" if c.displaced else "active"


def _result(c: Contribution, record: RoundRecord, found: tuple[Path, dict[str, Any]] | None,
            amount: int) -> ContributionResult:
    r = record.round
    base = {"contribution_id": c.contribution_id, "model_id": r.model_id, "status": _status(c),
            "round_id": r.round_id, "round_status": record.status, "round_file_hash": "0x" + r.round_file_hash.hex(),
            "account_amount": amount}
    if found is None:
        if amount > 0:
            return ContributionResult(**base, outcome="paid", reason="the account was paid this round; each "
                                      "contribution's value is in the round's file")
        return ContributionResult(**base, outcome="not_paid", reason="its reason is in the round's file")
    path, body = found
    base["round_file"] = str(path)
    entry = next((i for i in body["inputs"] if i["id"] == str(c.contribution_id)), None)
    if entry is None:
        registry_block = body.get("registryBlock")
        if isinstance(registry_block, str) and c.block_number > int(registry_block):
            why = (f"registered after block {registry_block}, where the round read the registry; the next round "
                   "values it")
        elif c.withdrawn:
            why = "withdrawn before the round"
        elif c.displaced:
            why = "displaced: an earlier commitment to the same content registered it too"
        else:
            why = "not among the round's inputs"
        return ContributionResult(**base, outcome="not_an_input", reason=why)
    if "excluded" in entry:
        return ContributionResult(**base, outcome="excluded", reason=str(entry["excluded"]))
    valued = next((v for v in body.get("contributions") or [] if isinstance(v, dict)
                   and v.get("id") == str(c.contribution_id)), None)
    value = _decimal(valued.get("value")) if valued is not None else None
    if value is None:
        return ContributionResult(**base, outcome="not_valued", reason="an input the round's file gives no value")
    left_out = valued.get("excluded")
    derivative = valued.get("derivative_of")
    return ContributionResult(
        **base, outcome="valued" if value > 0 else "valued_zero",
        reason="valued above zero" if value > 0 else "valued at zero or below: it earns nothing",
        value=str(valued["value"]), rows=_count(valued.get("rows")), credited_rows=_count(valued.get("credited_rows")),
        rows_left_out={str(k): n for k, v in left_out.items() if (n := _count(v)) is not None}
        if isinstance(left_out, dict) else {},
        derivative_of=_count(derivative))


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(value) if isinstance(value, str) else None
    except ArithmeticError:
        return None
    return number if number is not None and number.is_finite() else None


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdecimal() and value.isascii() else None


@dataclass(frozen=True)
class ClaimPosition:
    """Where an account stands on a model: its stake through the latest final round (from the published
    lists), what it claimed, and what that round and the pending one made of each of its contributions."""

    model_id: int
    account: str
    final_round: int
    cumulative: int
    claimed: int
    contributions: list[ContributionResult]

    @property
    def claimable(self) -> int:
        return max(self.cumulative - self.claimed, 0)


def claim_position(ledger: OpenLedger, model_id: int, account: str, source: EventSource | None = None,
                   round_files: RoundFiles | None = None) -> ClaimPosition:
    """Why `account` has (or has not) stake to claim on `model_id`: see `ClaimPosition`."""
    account = to_checksum_address(account)
    final_round = int(ledger.distributor.functions.finalizedRound(model_id).call()[1])
    source = chain_unless_given(ledger, source)
    history = source.rounds(model_id)
    cumulative = cumulative_from_lists(history, through_round=final_round).get(account, 0)
    claimed = int(ledger.distributor.functions.claimed(model_id, account).call())
    results = contribution_results(ledger, model_id, account, history, source.contributions(model_id),
                                   round_files)
    return ClaimPosition(model_id, account, final_round, cumulative, claimed, results)

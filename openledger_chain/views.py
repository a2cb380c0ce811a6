"""What contributors and operators look at: models (with their spec and evaluation sets), rounds, published
scores, and one account's stake, claimable stake and fees across every model. Values come from the chain
(events and views); amounts are base units (ints), for the CLI to render."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from openledger_chain.claims import ClaimError, claimable_from_chain
from openledger_chain.contracts import OpenLedger
from openledger_chain.history import RoundRecord, model_history


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
                                         ("ModelRegistered", "EvaluationCommitted", "EvaluationRevealed"))
            if log.args["modelId"] == model_id]
    registered = next(log.args for log in logs if log.event == "ModelRegistered")
    evaluation: dict[int, dict[str, Any]] = {}
    for log in logs:
        if log.event == "EvaluationCommitted":
            evaluation[int(log.args["roundId"])] = {
                "round": int(log.args["roundId"]), "eval_hash": _hex(log.args["evalHash"]),
                "committed_block": log.block_number, "revealed_uri": None, "revealed_block": None}
        elif log.event == "EvaluationRevealed" and int(log.args["roundId"]) in evaluation:
            evaluation[int(log.args["roundId"])] |= {"revealed_uri": log.args["uri"],
                                                     "revealed_block": log.block_number}
    return row | {"merkle_root": "0x" + bytes(root).hex(), "spec_hash": _hex(registered["specHash"]),
                  "spec_uri": registered["specURI"], "stake_name": registered["name"],
                  "stake_symbol": registered["symbol"],
                  "evaluation_sets": [evaluation[r] for r in sorted(evaluation)]}


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def rounds(ledger: OpenLedger, model_id: int, engine: Any = None) -> list[dict[str, Any]]:
    """Every submission of the model's rounds (vetoed ones too), oldest first."""
    pending = ledger.pending_round(model_id)
    return [_round_row(r, pending.challenge_ends_at if r.status == "pending" else None)
            for r in model_history(ledger, model_id, engine)]


def _round_row(record: RoundRecord, challenge_ends_at: int | None) -> dict[str, Any]:
    r = record.round
    return {"round": r.round_id, "status": record.status, "block": record.block_number,
            "emission": r.emission, "cumulative_emission": r.cumulative_emission,
            "merkle_root": "0x" + r.merkle_root.hex(), "scores_hash": "0x" + r.scores_hash.hex(),
            "method_hash": "0x" + r.method_hash.hex(), "round_file_hash": "0x" + r.round_file_hash.hex(),
            "signers": record.signers, "published_scores": len(record.scores),
            "challenge_ends_at": challenge_ends_at}


def scores(ledger: OpenLedger, model_id: int, round_id: int | None = None, account: str | None = None,
           engine: Any = None) -> tuple[int, list[dict[str, Any]]]:
    """The published score list of a round (default: the latest final one). Returns (round id, rows)."""
    history = model_history(ledger, model_id, engine)
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


def account_status(ledger: OpenLedger, account: str, engine: Any = None) -> list[dict[str, Any]]:
    """Per model: the account's stake, what it can claim now, its withdrawable fees, and the pending round."""
    account = to_checksum_address(account)
    rows = []
    for model_id in model_ids(ledger):
        stake_token = ledger.stake_token(model_id)
        try:
            claimable = claimable_from_chain(ledger, model_id, account, engine).amount
        except ClaimError:
            claimable = 0
        pending = ledger.pending_round(model_id)
        rows.append({"model": model_id, "stake": int(stake_token.functions.balanceOf(account).call()),
                     "claimable": claimable, "fees": int(stake_token.functions.feesOf(account).call()),
                     "pending_round": pending.round_id or None,
                     "challenge_ends_at": pending.challenge_ends_at if pending.round_id else None})
    return rows

"""Valuation of non-row contributions: fine-tune recipes and attested compute/evaluation units.

Fine-tune (``kind = "finetune"``): a JSON recipe ``{"estimator": "<spec estimator>" (optional),
"params": {...}}`` of allow-listed hyperparameters for the spec's estimator family. It is trained
on the credited data rows and scored on the evaluation set. Its value is its gain over the best
recipe registered before it (the base recipe from the spec included):
``max(0, acc(recipe) - max(acc(base), acc(earlier recipes)))``, so re-registering or nudging an
earlier recipe earns nothing unless it actually improves on it.

Compute / evaluation (``kind = "compute" | "evaluation"``): a JSON claim
``{"units": int, "attestation": {"signer": "0x..", "signature": "0x.."}}`` whose units count only
if the caller's verifier accepts the model owner's signature over :func:`attestation_message`
(model id, kind, contributor, units -- not the contribution id, which the registry assigns only
after the claim file, signature included, has been hashed and registered).
This module only defines the message and the hook; signature checking (EIP-191 with eth-account)
lives with the caller (CLI ``--attestor`` or the oracle), since attribution must not import eth
libraries. Without a verifier no units count: a contributor cannot self-report work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from openledger_chain.attribution.dataset import Dataset
from openledger_chain.attribution.estimators import build_estimator, validate_params
from openledger_chain.attribution.manifest import Contribution
from openledger_chain.attribution.spec import Spec, read_json
from openledger_chain.attribution.utility import ModelUtility
from openledger_chain.errors import InputError

__all__ = ["AttestedClaim", "Verifier", "attestation_message", "value_attested", "value_finetunes"]

MAX_UNITS = 10**12


@dataclass(frozen=True)
class AttestedClaim:
    """A compute/evaluation claim handed to the verifier.

    Attributes:
        contribution_id: Manifest id (not part of the signed message).
        contributor: Checksummed contributor address.
        kind: ``compute`` or ``evaluation``.
        units: Claimed units.
        signer: Address that the attestation says signed it.
        signature: Hex signature.
        message: The exact text that must have been signed (:func:`attestation_message`).
        model_id: The model the attestation is for.
    """

    contribution_id: str
    contributor: str
    kind: str
    units: int
    signer: str
    signature: str
    message: str
    model_id: int = 0


#: Returns True if the claim's signature is a valid model-owner attestation.
Verifier = Callable[[AttestedClaim], bool]


def attestation_message(model_id: int, kind: str, contributor: str, units: int) -> str:
    """The text the model owner signs (EIP-191 ``personal_sign``) to attest a claim.

    It binds model, kind, contributor (lowercase) and units, so an attestation cannot be moved to
    another model, contributor or amount. It cannot name the contribution id: the registry assigns
    that id when the claim file -- which already holds the signature -- is registered. Reuse of one
    signature for a second claim is stopped by :func:`value_attested`, which counts it once.
    The oracle signs and verifies this same text (``openledger_chain.oracle``).
    """
    return (
        "OpenLedger attestation\n"
        f"model: {model_id}\nkind: {kind}\ncontributor: {contributor.lower()}\nunits: {units}"
    )


def _read_claim(c: Contribution, model_id: int) -> AttestedClaim:
    raw = read_json(c.path)
    where = f"{c.path}"
    if not isinstance(raw, dict) or set(raw) - {"units", "attestation", "description"}:
        raise InputError(f"{where}: expected {{\"units\": int, \"attestation\": {{...}}, \"description\"?}}")
    units = raw.get("units")
    if not isinstance(units, int) or isinstance(units, bool) or not 0 < units <= MAX_UNITS:
        raise InputError(f"{where}: field 'units' must be an integer in [1, {MAX_UNITS}]")
    att = raw.get("attestation")
    if not isinstance(att, dict) or not isinstance(att.get("signer"), str) or not isinstance(att.get("signature"), str):
        raise InputError(f"{where}: field 'attestation' must be {{\"signer\": \"0x..\", \"signature\": \"0x..\"}}")
    message = attestation_message(model_id, c.kind, c.contributor, units)
    return AttestedClaim(c.id, c.contributor, c.kind, units, att["signer"], att["signature"], message, model_id)


def value_attested(
    contributions: list[Contribution], verifier: Verifier | None, model_id: int = 0
) -> dict[str, float]:
    """Value compute/evaluation contributions by their verified units.

    Args:
        contributions: Compute and evaluation contributions.
        verifier: Signature check supplied by the caller; None accepts nothing.
        model_id: Model whose owner's attestations count (part of the signed message).

    Returns:
        Contribution id -> units counted (0 when unverified or when the same signature was
        already counted for an earlier contribution).
    """
    values: dict[str, float] = {}
    used: set[str] = set()
    for c in contributions:
        claim = _read_claim(c, model_id)
        sig = claim.signature.lower()
        ok = verifier is not None and sig not in used and bool(verifier(claim))
        if ok:
            used.add(sig)
        values[c.id] = float(claim.units) if ok else 0.0
    return values


def _read_recipe(c: Contribution, spec: Spec) -> dict[str, Any]:
    raw = read_json(c.path)
    where = f"{c.path}"
    if not isinstance(raw, dict) or set(raw) - {"estimator", "params"} or "params" not in raw:
        raise InputError(f"{where}: expected a recipe {{\"estimator\"?: str, \"params\": {{...}}}}")
    name = raw.get("estimator", spec.estimator_name)
    if name != spec.estimator_name:
        raise InputError(f"{where}: field 'estimator': recipe is for {name!r}, the spec's family is {spec.estimator_name!r}")
    return validate_params(name, raw["params"], f"{where}: field 'params'")


def check_claim(c: Contribution) -> None:
    """Raise InputError if a compute/evaluation claim file is malformed (signature not checked)."""
    _read_claim(c, 0)


def check_recipe(c: Contribution, spec: Spec) -> None:
    """Raise InputError if a fine-tune recipe file is malformed or not for the spec's estimator."""
    _read_recipe(c, spec)


def value_finetunes(
    contributions: list[Contribution], spec: Spec, train: Dataset, eval_data: Dataset, seed: int
) -> tuple[dict[str, float], float]:
    """Value fine-tune recipes by their accuracy gain over the best earlier recipe.

    Args:
        contributions: Fine-tune contributions in registration order.
        spec: The spec (estimator family and base recipe).
        train: Credited training rows.
        eval_data: Evaluation rows.
        seed: Seed for seeded estimators.

    Returns:
        (contribution id -> gain in accuracy points, accuracy of the base recipe).
    """
    everything = np.arange(len(train))

    def accuracy(params: dict[str, Any]) -> float:
        model = build_estimator(spec.estimator_name, params, seed)
        return ModelUtility(train, eval_data, model)(everything)

    best = base = accuracy(spec.estimator_params)
    values: dict[str, float] = {}
    for c in contributions:
        acc = accuracy({**spec.estimator_params, **_read_recipe(c, spec)})
        values[c.id] = max(0.0, acc - best)
        best = max(best, acc)
    return values, base

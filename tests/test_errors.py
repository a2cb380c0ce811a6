"""Reverts and balance errors read as people read them: role names, dates, timelock states, token units; every
error of every committed ABI explained in one line with a next step; reads never called transactions; advice
after a restart that fits the deployer and everyone else."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak
from eth_utils.abi import collapse_if_tuple
from test_oracle import _propose, _sign_submit_finalize, setup  # noqa: F401 - `setup` is a fixture

from openledger_chain.build import ARTIFACTS_DIR
from openledger_chain.chain import decode_error_data, revert_error
from openledger_chain.cli import main
from openledger_chain.deployments import deployment_problem, read_deployment
from openledger_chain.errors import ContractRevertError, DeploymentError
from openledger_chain.oracle import claim_from_round_file
from openledger_chain.revert_hints import (
    BUILTIN_ERRORS,
    HINTS,
    READ_REFUSED,
    ROLE_NAMES,
    TokenUnits,
    describe,
    operation_states,
    template_fields,
)
from openledger_chain.units import format_amount

ACCOUNT = "0x" + "ab" * 20


def _abi_errors() -> dict[str, list[dict[str, Any]]]:
    """Every error of every committed artifact, by name: its inputs (the same wherever it is declared)."""
    errors: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(ARTIFACTS_DIR.glob("*.json")):
        for item in json.loads(path.read_text())["abi"]:
            if item["type"] == "error":
                assert errors.setdefault(item["name"], item["inputs"]) == item["inputs"], (path.name, item["name"])
    return errors


def _example(abi_type: str, index: int, is_time: bool) -> Any:
    """A value of `abi_type` for argument `index`: uints differ per argument (so each can be told apart in the
    message), times are dates."""
    if abi_type.startswith("uint"):
        if is_time:
            return 1796089044
        bits = int(abi_type[4:] or 256)
        if bits <= 8:  # an enum (a bond's status or decision)
            return 1 + index
        return 268829484992267457269 + index if bits > 72 else 12_345 + index
    return {"address": ACCOUNT, "bytes32": (4).to_bytes(32, "big"), "string": "age1nope", "bytes": b""}[abi_type]


# ----- the table

def test_every_error_in_the_abis_has_exactly_one_explanation_and_next_step() -> None:
    """A new error cannot ship without an entry, and no entry outlives its error."""
    errors = _abi_errors()
    assert len(errors) >= 90  # ours and OpenZeppelin's: the walk found the artifacts
    assert sorted(set(errors) - set(HINTS)) == [], "errors without an entry in revert_hints.HINTS"
    assert sorted(set(HINTS) - set(errors) - set(BUILTIN_ERRORS)) == [], "entries for errors no ABI has"
    for name, hint in HINTS.items():
        inputs = [i["name"] for i in errors[name]] if name in errors else list(BUILTIN_ERRORS[name])
        assert hint.says and hint.do, name
        for part in (hint.says, hint.do):
            assert template_fields(part) <= set(inputs), (name, template_fields(part) - set(inputs))
        assert set(hint.stake + hint.token + hint.time) <= set(inputs), name


@pytest.mark.parametrize("name", sorted(_abi_errors()))
def test_every_error_decodes_from_its_revert_data_to_one_explained_line(name: str) -> None:
    inputs = _abi_errors()[name]
    hint = HINTS[name]
    types = [collapse_if_tuple(i) for i in inputs]
    values = [_example(t, n, i["name"] in hint.time) for n, (t, i) in enumerate(zip(types, inputs, strict=True))]
    if name == "ContributionRegistryBatchEntryInvalid":  # its reason is another error, shown in its place
        values[1] = function_signature_to_4byte_selector("ContributionRegistryZeroPayment()")
    data = function_signature_to_4byte_selector(f"{name}({','.join(types)})") + abi_encode(types, values)
    error = decode_error_data(data)
    message = str(error)
    assert "\n" not in message and "{" not in message and "}" not in message, message
    if name == "ContributionRegistryBatchEntryInvalid":
        assert error.name == "ContributionRegistryZeroPayment" and error.batch_index == values[0]
        assert message.startswith(f"transaction reverted: entry {values[0]} of the batch: ContributionRegistryZero")
        return
    assert error.name == name and message.startswith(f"transaction reverted: {name}(")
    assert message.count("; ") >= 2, f"no explanation and next step: {message}"  # error; explanation; next step
    for item, value in zip(inputs, values, strict=True):
        if item["name"] in hint.stake:  # stake amounts in token units, like the rest of the CLI
            assert f"{format_amount(value, exact=True)} stake" in message and str(value) not in message, message
        elif item["name"] in hint.token:  # another token's, in base units said as such unless its decimals are known
            assert f"{value} base units" in message, message
        elif item["name"] in hint.time:
            assert f"{value} = 2026-12-01 01:37:24 UTC" in message, message
        elif item["type"].startswith("uint"):
            assert str(value) in message, message


def test_every_role_name_is_the_keccak_of_its_name() -> None:
    for digest, name in ROLE_NAMES.items():
        expected = b"\0" * 32 if name == "DEFAULT_ADMIN_ROLE" else keccak(text=name)
        assert bytes.fromhex(digest) == expected


def test_a_revert_names_the_role_and_shows_times_as_dates() -> None:
    error = revert_error("AccessControlUnauthorizedAccount", (ACCOUNT, keccak(text="GUARDIAN_ROLE")))
    checksummed = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert str(error).startswith(f"transaction reverted: AccessControlUnauthorizedAccount({checksummed}, "
                                 f"GUARDIAN_ROLE); {checksummed} does not hold GUARDIAN_ROLE; sign as the guardian")
    error = revert_error("RewardDistributorChallengeWindowOpen", (1796089044,))
    assert "RewardDistributorChallengeWindowOpen(1796089044 = 2026-12-01 01:37:24 UTC)" in str(error)


def test_timelock_states_are_named() -> None:
    assert operation_states((4).to_bytes(32, "big")) == "Ready"
    assert operation_states((1).to_bytes(32, "big")) == "Unset"
    assert operation_states((2 | 4).to_bytes(32, "big")) == "Waiting or Ready"
    message = str(revert_error("TimelockUnexpectedOperationState", (b"\x12" * 32, (1).to_bytes(32, "big"))))
    assert f"(0x{'12' * 32}, Unset); this admin operation is already scheduled" in message
    assert "0x" + "00" * 31 + "01" not in message


def test_token_amounts_are_in_the_tokens_units_when_known_and_marked_as_base_units_otherwise() -> None:
    args = (ACCOUNT, 12_500_000, 20_000_000)
    known = describe("ERC20InsufficientBalance", args, ("sender", "balance", "needed"), token=TokenUnits(6, "USDC"))
    assert "holds 12.500000 USDC of the token and needs 20.000000 USDC" in known
    assert format_amount(1_000 * 10**18 + 1, exact=True) == "1,000.000000000000000001"  # one unit over shows
    unknown = describe("ERC20InsufficientBalance", args, ("sender", "balance", "needed"))
    assert "holds 12500000 base units of the token and needs 20000000 base units" in unknown


def test_a_read_is_never_called_a_transaction() -> None:
    message = str(revert_error("ContributionRegistryUnknownModel", (99,), doing=READ_REFUSED))
    assert message == ("the chain refused the read: ContributionRegistryUnknownModel(99); no model 99 is registered "
                       "on this deployment; `openledger model list` lists those that are")


# ----- on the embedded chain, through the command line

def _fund_the_timelock(ledger: Any) -> None:
    """`admin schedule` first calls the change as the timelock would; eth-tester (unlike a node) wants the caller
    of an eth_call to afford its gas."""
    w3 = ledger.chain.w3
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": ledger.timelock.address, "value": 10**18})


def _cli(module: str, ledger: Any, args: list[str]) -> Any:
    with mock.patch(f"openledger_chain.cli.{module}.open_ledger", return_value=ledger):
        return CliRunner().invoke(main, args)


def test_model_show_of_a_missing_model_names_it_in_one_line_without_transaction(ledger, tmp_path: Path,
                                                                                 monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _cli("model", ledger, ["model", "show", "99"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "transaction" not in lines[0] and "Traceback" not in result.output
    assert lines[0].startswith("error: the chain refused the read: ContributionRegistryUnknownModel(99); no model 99 "
                               "is registered on this deployment; `openledger model list`")


def test_an_early_timelock_execute_says_the_operations_state_by_name(ledger, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _fund_the_timelock(ledger)
    scheduled = _cli("admin", ledger, ["admin", "schedule", "set-threshold", "3"])
    assert scheduled.exit_code == 0, scheduled.output
    # The deployer named: falling back to dev account 0 would add its stderr notice to the one line.
    early = _cli("admin", ledger, ["admin", "execute", "set-threshold", "3", "--dev-account", "0"])
    assert early.exit_code == 1
    (line,) = early.output.strip().splitlines()
    assert re.fullmatch(r"error: transaction reverted: TimelockUnexpectedOperationState\(0x[0-9a-f]{64}, Ready\); "
                        r"this admin operation is Waiting: it can run from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
                        r"UTC; `openledger admin list` shows .*", line), line
    never = _cli("admin", ledger, ["admin", "execute", "set-threshold", "1"])
    assert "is Unset: it was never scheduled: schedule it first" in never.output
    again = _cli("admin", ledger, ["admin", "schedule", "set-threshold", "3"])
    assert "TimelockUnexpectedOperationState" in again.output and "(0x" in again.output
    assert ", Unset); this admin operation is already scheduled" in again.output


def test_a_change_that_would_revert_is_not_scheduled_and_says_why(ledger, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _fund_the_timelock(ledger)
    result = _cli("admin", ledger, ["admin", "schedule", "set-threshold", "5", "--dev-account", "0"])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: not scheduled: the change would revert: RewardDistributorInvalidThreshold(5, 3); "
                           "a threshold of 5 needs 5 oracles, and there would be 3; change oracles and threshold in "
                           "an order that keeps the threshold reachable")


def test_claims_of_what_is_already_claimed_show_token_units(ledger, accounts, setup, monkeypatch) -> None:  # noqa: F811
    model, workdir = setup
    monkeypatch.chdir(workdir)
    path, round_file = _propose(ledger, model, workdir)
    _sign_submit_finalize(ledger, accounts, path)
    claim_from_round_file(ledger, path, accounts.alice.address, accounts.alice)
    stake = round_file.cumulative[accounts.alice.address]
    shown = format_amount(stake, exact=True)  # e.g. 268.829484992267457269, not 268829484992267457269
    result = _cli("rounds", ledger, ["claim", "--model", str(model.model_id), "--dev-account", "5"])
    assert result.exit_code == 1
    assert f"already claimed all its {shown} stake in model {model.model_id}" in result.output
    assert str(stake) not in result.output
    with pytest.raises(ContractRevertError) as again:  # the contract's own refusal, in the same units
        claim_from_round_file(ledger, path, accounts.alice.address, accounts.alice)
    assert f"claimed {shown} stake, at least the {shown} stake allocated to it" in str(again.value)
    assert str(stake) not in str(again.value)


# ----- deployment advice that fits who asks

def test_restart_advice_says_what_the_deployer_does_and_what_everyone_else_does(ledger) -> None:
    chain, deployment = ledger.chain, ledger.deployment
    name = next(iter(deployment.contracts))
    gone = replace(deployment, contracts=deployment.contracts | {
        name: replace(deployment.contracts[name], address="0x" + "00" * 19 + "01")})
    problem = deployment_problem(chain, gone)
    assert problem is not None and "is not deployed at" in problem
    assert "the deployer runs `openledger deploy --force` on the fresh local chain; everyone else gets the new " \
           "deployments/embedded.json from the deployer" in problem
    own = deployment_problem(chain, gone, deployer=True)
    assert own is not None and "run `openledger deploy --force` to deploy again" in own


def test_a_missing_deployment_file_is_fetched_from_the_deployer_not_deployed_again(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError) as missing:
        read_deployment("localhost", tmp_path)
    message = str(missing.value)
    assert f"get {tmp_path / 'localhost.json'} from the deployer" in message
    assert "only the deployer runs `openledger deploy`, once per chain" in message

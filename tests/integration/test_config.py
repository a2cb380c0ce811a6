"""openledger.toml: a named network needs no --rpc-url, and the deployments and rounds folders it names
are where every command writes and reads; a broken file is a one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _anvil import COMMITTEE_SETUP, PROJECT_ROOT, running_anvil
from click.testing import CliRunner

from openledger_chain.cli import main

EXAMPLE = PROJECT_ROOT / "examples" / "attribution"


def test_named_network_and_folders_come_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("spec.json", "eval.csv", "alice.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    with running_anvil() as url:
        (tmp_path / "openledger.toml").write_text(
            f'deployments_dir = "state/deployments"\nrounds_dir = "state/rounds"\n\n[networks]\nlab = "{url}"\n')
        run = CliRunner().invoke
        assert run(main, ["deploy", "--network", "lab", "--challenge-window", "0"]).exit_code == 0
        assert (tmp_path / "state/deployments/lab.json").is_file() and not (tmp_path / "deployments").exists()
        for args in (*([*a, "--network", "lab"] for a in COMMITTEE_SETUP),["model", "register", "--spec", "spec.json", "--symbol", "L", "--network", "lab"],
                     ["contribute", "--model", "1", "alice.csv", "--network", "lab"],
                     ["node", "advance-time", "--blocks", "256", "--network", "lab"],  # the registration settles
                     ["round", "commit-eval", "--model", "1", "--round", "1", "eval.csv", "--network", "lab"],
                     ["round", "propose", "--model", "1", "--spec", "spec.json", "--eval", "eval.csv",
                      "--network", "lab"]):
            result = run(main, args)
            assert result.exit_code == 0, result.output
        assert (tmp_path / "state/rounds/lab/model-1/round-1.json").is_file()
        # The environment overrides the file.
        monkeypatch.setenv("OPENLEDGER_DEPLOYMENTS_DIR", str(tmp_path / "elsewhere"))
        moved = run(main, ["model", "show", "1", "--network", "lab"])
        assert moved.exit_code == 1 and "no deployment for network 'lab'" in moved.output


def test_accounts_per_role_come_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """[accounts]: the contributor signs with a keystore, the model owner as dev account 7."""
    from eth_account import Account

    from openledger_chain.chain import dev_accounts

    monkeypatch.chdir(tmp_path)
    for name in ("spec.json", "alice.csv", "recipe.json"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    contributor, owner = dev_accounts()[6], dev_accounts()[7]
    (tmp_path / "contributor.json").write_text(json.dumps(Account.encrypt(contributor.key, "pw")))
    (tmp_path / "openledger.toml").write_text('[accounts]\ncontributor = "contributor.json"\n"model owner" = 7\n')
    env = {"OPENLEDGER_KEYSTORE_PASSWORD": "pw"}
    with running_anvil() as url:
        run = CliRunner().invoke
        assert run(main, ["deploy", "--rpc-url", url]).exit_code == 0
        for args in COMMITTEE_SETUP:
            assert run(main, [*args, "--rpc-url", url]).exit_code == 0
        assert run(main, ["model", "register", "--spec", "spec.json", "--symbol", "A", "--rpc-url", url]).exit_code == 0
        shown = run(main, ["model", "show", "1", "--rpc-url", url, "--json"]).output
        assert owner.address in shown
        added = run(main, ["contribute", "--model", "1", "alice.csv", "--rpc-url", url], env=env)
        assert added.exit_code == 0 and f"by {contributor.address}" in added.output, added.output
        # An explicit option still wins.
        other = run(main, ["contribute", "--model", "1", "recipe.json", "--kind", "finetune", "--dev-account", "5",
                           "--rpc-url", url], env=env)
        assert other.exit_code == 0 and f"by {dev_accounts()[5].address}" in other.output, other.output


@pytest.mark.parametrize(("text", "message"), [
    ("not toml = = 1", "is not valid TOML"),
    ('colour = "blue"', "unknown key(s) colour"),
    ("[networks]\nlab = 5", "maps each network name to its RPC URL"),
    ("[accounts]\nboss = 1", "[accounts] maps roles"),
])
def test_a_broken_config_file_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                                   message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "openledger.toml").write_text(text)
    result = CliRunner().invoke(main, ["model", "show", "1", "--network", "lab"])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output

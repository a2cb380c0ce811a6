"""Bad ids and addresses on any command: a one-line usage error (exit 2) before the chain is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from openledger_chain.cli import main

SPEC = Path(__file__).resolve().parents[1] / "examples" / "attribution" / "spec.json"


@pytest.mark.parametrize("args, option", [
    (["claim", "--account", "notanaddress", "r.json"], "'--account'"),
    (["fees", "show", "--model", "1", "--account", "0x123"], "'--account'"),
    (["fees", "show", "--model", "1", "--account", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"], "'--account'"),  # bad checksum
    (["contribute", "--model", "-1", "x.csv"], "'--model'"),
    (["model", "show", "--", "-1"], "'MODEL_ID'"),
    (["deploy", "--oracle", "0xnotanaddress", "--force"], "'--oracle'"),
    (["deploy", "--guardian", "nope", "--force"], "'--guardian'"),
    (["round", "finalize", "--model", "-1"], "'--model'"),
    (["round", "commit-eval", "--model", "1", "--round", str(2**256), "x.csv"], "'--round'"),
    (["contributions", "list", "--model", "-1"], "'--model'"),
    (["model", "register", "--spec", str(SPEC), "--symbol", "S", "--payment-token", "0xdead"],
     "'--payment-token'"),
])
def test_bad_ids_and_addresses_are_refused_before_any_chain_access(args: list[str], option: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {option}" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["contribute", "--model", "1", "--uri", "127.0.0.1:8800/x.csv", "x.csv"],
     "--uri 127.0.0.1:8800/x.csv has no scheme, so oracles would look for a local file of that name; write "
     "http://127.0.0.1:8800/x.csv (or https://)"),
    (["contribute", "--model", "1", "--uri", "ftp://host/x.csv", "x.csv"], "oracles cannot fetch ftp: URIs"),
    (["round", "reveal-eval", "--model", "1", "--round", "1", "--file", "x.csv", "eval2.csv"],
     "URI eval2.csv has no scheme, so each oracle would look for that file on its own machine"),
])
def test_a_uri_oracles_cannot_fetch_is_refused_before_any_chain_access(  # type: ignore[no-untyped-def]
        tmp_path, monkeypatch, args: list[str], message: str) -> None:
    """Nothing listens at the RPC URL: the refusal comes before any connection (issue 22, item 2)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").write_text("a,label\n1,0\n")
    result = CliRunner().invoke(main, [*args, "--rpc-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_command_line_loads_no_heavy_library_before_a_command_runs() -> None:
    """`--help` and argument errors stay instant: scikit-learn, scipy and web3 load inside commands
    (`scripts/bench_startup.py` measures the time)."""
    import subprocess
    import sys

    code = ("import sys, openledger_chain.cli; "
            "print(sorted(m for m in ('sklearn', 'scipy', 'web3', 'eth_account', 'eth_utils') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_commands_that_fit_no_model_do_not_load_scikit_learn() -> None:
    """submit, finalize, claim, status and the rest import the round pipeline (oracle.py), which imports the
    attribution package: scikit-learn (~2.5 s here, 7.7 -> 5 s per `round finalize`) loads only where a model
    is fitted or a neighbour search runs. Attributing still works after the lazy imports."""
    import subprocess
    import sys

    code = ("import sys, openledger_chain.oracle, openledger_chain.cli.rounds, openledger_chain.cli.views, openledger_chain.cli.fees; "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

def test_deeply_nested_json_is_a_one_line_error_not_a_crash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """eth-account's py_ecc raises the recursion limit to 100,000, at which json's C decoder overflowed
    the C stack on a file of 100,000 nested brackets: `verify` (and sign, submit, claim) died of SIGSEGV.
    Every JSON file we read from others now parses under a depth limit."""
    import subprocess
    import sys

    from openledger_chain.attribution.spec import read_json
    from openledger_chain.errors import InputError
    from openledger_chain.oracle import read_round_file

    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    code = ("import eth_account, sys; from pathlib import Path; from openledger_chain.verify import _load_json\n"
            "try:\n    _load_json(Path(sys.argv[1]))\nexcept Exception as exc:\n    print(type(exc).__name__, exc)")
    out = subprocess.run([sys.executable, "-c", code, str(nested)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, (out.returncode, out.stderr[-500:])  # -11 before: a segfault
    assert out.stdout.startswith("InputError round file") and "malformed" in out.stdout
    with pytest.raises(InputError, match="malformed"):
        read_round_file(nested)
    with pytest.raises(InputError, match="nested more than 1000 levels deep"):
        read_json(nested)


def _bench_error_cases() -> tuple[list[list[str]], tuple[str, ...]]:
    """The argument and file errors `scripts/bench_startup.py` times, and the files its scratch folder holds."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "bench_startup.py"
    spec = importlib.util.spec_from_file_location("bench_startup", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.ERROR_CASES, bench.SCRATCH_FILES


def test_argument_and_file_errors_come_before_any_heavy_import_or_node(tmp_path: Path) -> None:
    """Every error the command line or a missing file causes (the cases bench_startup times) is said before
    scikit-learn, numpy, web3 or eth-account load and before any node is asked: exit 2, nothing heavy in
    sys.modules. (Before: `round sign nothere.json` loaded scikit-learn and connected first, 3-8 s.)"""
    import json
    import os
    import shutil
    import subprocess
    import sys

    cases, files = _bench_error_cases()
    assert len(cases) >= 20
    for name in files:
        if name == "round.json":
            (tmp_path / name).write_text("{}\n")
        else:
            shutil.copyfile(SPEC.parent / name, tmp_path / name)
    code = (
        "import json, sys\n"
        "from openledger_chain.cli import main\n"
        "heavy = ('sklearn', 'scipy', 'numpy', 'pandas', 'dask', 'web3', 'eth_account')\n"
        "seen = []\n"
        "for case in json.loads(sys.argv[1]):\n"
        "    try:\n"
        "        main(case, prog_name='openledger')\n"
        "        status = 0\n"
        "    except SystemExit as exc:\n"
        "        status = exc.code\n"
        "    seen.append([' '.join(case), status, sorted(m for m in heavy if m in sys.modules)])\n"
        "print(json.dumps(seen))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLEDGER_")}
    env["OPENLEDGER_RPC_URL"] = "http://127.0.0.1:9"  # no node: a command that connected first would say so
    out = subprocess.run([sys.executable, "-c", code, json.dumps(cases)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    results = json.loads(out.stdout)
    # Modules stay loaded: the first case that loads one is the one to blame.
    assert [(case, status) for case, status, _ in results if status != 2] == [], out.stderr
    assert [(case, loaded) for case, _, loaded in results if loaded] == [], out.stderr
    assert "no Ethereum node answers" not in out.stderr


def test_a_missing_keystore_or_its_password_is_said_before_connecting(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "openledger.toml").write_text('[accounts]\ncontributor = "keys/me.json"\n')
    (tmp_path / "alice.csv").write_bytes((SPEC.parent / "alice.csv").read_bytes())
    result = CliRunner().invoke(main, ["contribute", "--model", "1", "alice.csv", "--rpc-url", "http://127.0.0.1:9"])
    assert result.exit_code == 2, result.output
    assert "keystore file keys/me.json ([accounts] contributor in openledger.toml) not found" in result.output
    (tmp_path / "me.json").write_text("{}")
    result = CliRunner().invoke(main, ["contribute", "--model", "1", "alice.csv", "--keystore", "me.json",
                                       "--rpc-url", "http://127.0.0.1:9"], env={"OPENLEDGER_KEYSTORE_PASSWORD": None})
    assert result.exit_code == 2 and "set OPENLEDGER_KEYSTORE_PASSWORD" in result.output, result.output

"""Bad ids and addresses on any command: a one-line usage error (exit 2) before the chain is touched."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from openledger_chain.cli import main


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
    (["model", "register", "--spec", "s.json", "--symbol", "S", "--payment-token", "0xdead"], "'--payment-token'"),
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

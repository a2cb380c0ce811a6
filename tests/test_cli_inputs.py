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


def test_the_command_line_loads_no_heavy_library_before_a_command_runs() -> None:
    """`--help` and argument errors stay instant: scikit-learn, scipy and web3 load inside commands
    (`scripts/bench_startup.py` measures the time)."""
    import subprocess
    import sys

    code = ("import sys, openledger_chain.cli; "
            "print(sorted(m for m in ('sklearn', 'scipy', 'web3', 'eth_account', 'eth_utils') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

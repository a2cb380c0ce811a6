"""On a local node: `node fund` gives a key of your own ETH, `node advance-time` moves the clock (both refused on
any other chain), and a command that signs as a default dev account says so on stderr (issue 22, findings 7
and 12)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _anvil import PROJECT_ROOT, running_anvil
from click.testing import CliRunner, Result
from eth_account import Account
from web3 import Web3

from openledger_chain.chain import RetryingHTTPProvider, connect, dev_accounts
from openledger_chain.cli import main

# A key no dev mnemonic derives: it starts with no ETH.
FRESH = Account.from_key("0x" + "5e" * 32)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A fresh anvil with a deployment whose challenge window is an hour, and the folder it was deployed from."""
    folder = tmp_path_factory.mktemp("local-node")
    shutil.copyfile(PROJECT_ROOT / "examples" / "attribution" / "spec.json", folder / "spec.json")
    with running_anvil() as url:
        result = CliRunner().invoke(main, ["deploy", "--rpc-url", url,
                                           "--deployments-dir", str(folder / "deployments")])
        assert result.exit_code == 0, result.output
        yield url, folder


def _run(url: str, folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str,
         env: dict[str, str] | None = None) -> Result:
    monkeypatch.chdir(folder)
    return CliRunner().invoke(main, list(args), env={"OPENLEDGER_RPC_URL": url, **(env or {})})


def test_a_fresh_key_funded_with_node_fund_can_send(deployed: tuple[str, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    url, folder = deployed
    w3 = Web3(Web3.HTTPProvider(url))
    key_env = {"FRESH_KEY": "0x" + bytes(FRESH.key).hex()}
    broke = _run(url, folder, monkeypatch, "faucet", "5", "--key-env", "FRESH_KEY", env=key_env)
    assert broke.exit_code != 0  # no ETH for gas
    block = w3.eth.block_number
    funded = _run(url, folder, monkeypatch, "node", "fund", FRESH.address, "--eth", "2.5")
    assert funded.exit_code == 0, funded.output
    assert funded.stdout == (f"funded {FRESH.address} with 2.5 ETH on localhost (chain id 31337); its balance is "
                             "2.500000 ETH\n")
    assert w3.eth.get_balance(FRESH.address) == 25 * 10**17 and w3.eth.block_number == block  # no transaction
    again = _run(url, folder, monkeypatch, "node", "fund", FRESH.address)  # adds, 100 ETH by default
    assert "its balance is 102.500000 ETH" in again.stdout, again.output
    paid = _run(url, folder, monkeypatch, "faucet", "5", "--key-env", "FRESH_KEY", env=key_env)
    assert paid.exit_code == 0 and f"minted 5 oUSD to {FRESH.address}" in paid.output, paid.output
    assert "acting as dev account" not in paid.output  # its own key: no notice


def test_advance_time_moves_the_clock_and_mines_a_block(deployed: tuple[str, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url, folder = deployed
    w3 = Web3(Web3.HTTPProvider(url))
    before = w3.eth.get_block("latest")
    moved = _run(url, folder, monkeypatch, "node", "advance-time", "3600")
    assert moved.exit_code == 0, moved.output
    after = w3.eth.get_block("latest")
    assert after["number"] == before["number"] + 1 and after["timestamp"] >= before["timestamp"] + 3600
    assert moved.stdout.startswith("moved the clock of localhost forward 3600 s\n")
    assert f"block {after['number']} is at " in moved.stdout
    later = _run(url, folder, monkeypatch, "faucet", "1", "--dev-account", "8")  # the offset stays
    assert later.exit_code == 0 and w3.eth.get_block("latest")["timestamp"] >= before["timestamp"] + 3600


def test_advance_time_blocks_mines_the_blocks_a_registration_waits_out(deployed: tuple[str, Path],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """`--blocks 256` mines 256 blocks in one `anvil_mine` call (what `round propose` waits for after a
    registration); neither SECONDS nor --blocks is a usage error."""
    url, folder = deployed
    w3 = Web3(Web3.HTTPProvider(url))
    before = w3.eth.block_number
    started = time.perf_counter()
    mined = _run(url, folder, monkeypatch, "node", "advance-time", "--blocks", "256")
    elapsed = time.perf_counter() - started
    assert mined.exit_code == 0, mined.output
    assert w3.eth.block_number == before + 256
    assert mined.stdout.startswith("mined 256 blocks on localhost\n") and f"block {before + 256} is at" in mined.stdout
    assert elapsed < 5, elapsed  # one RPC call: cheap (about 0.1 s measured)
    neither = _run(url, folder, monkeypatch, "node", "advance-time")
    assert neither.exit_code == 2 and "give SECONDS to move the clock, or --blocks N" in neither.output


def test_a_default_dev_account_is_named_on_stderr(deployed: tuple[str, Path],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url, folder = deployed
    contributor = dev_accounts()[5].address
    fallback = _run(url, folder, monkeypatch, "status", "--json")
    assert fallback.exit_code == 0, fallback.output
    assert fallback.stderr == (f"acting as dev account 5 ({contributor}), the local chains' default contributor; "
                               "pass --dev-account/--keystore or set [accounts] in openledger.toml\n")
    assert "acting as" not in fallback.stdout  # --json stays JSON
    explicit = _run(url, folder, monkeypatch, "status", "--dev-account", "6")
    assert explicit.exit_code == 0 and explicit.stderr == "" and dev_accounts()[6].address in explicit.stdout
    (folder / "openledger.toml").write_text("[accounts]\ncontributor = 7\n")
    try:
        configured = _run(url, folder, monkeypatch, "status")
    finally:
        (folder / "openledger.toml").unlink()
    assert configured.exit_code == 0 and configured.stderr == "" and dev_accounts()[7].address in configured.stdout
    guardian = _run(url, folder, monkeypatch, "round", "veto", "--model", "1")  # its role, not its dev account's
    assert f"acting as dev account 0 ({dev_accounts()[0].address}), the local chains' default guardian" \
        in guardian.stderr


def test_fund_and_advance_time_are_refused_on_a_chain_that_is_not_local(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    with running_anvil(chain_id=11155111) as url:  # a node that says it is Sepolia
        w3 = Web3(Web3.HTTPProvider(url))
        block = w3.eth.get_block("latest")
        for args in (["node", "fund", FRESH.address], ["node", "advance-time", "60"]):
            result = CliRunner().invoke(main, [*args, "--rpc-url", url])
            assert result.exit_code == 2, result.output
            assert result.output.count("\n") == 1 and result.output.startswith(
                f"error: chain 11155111 at {url} is not a local chain: only a local node (chain id "), result.output
        assert w3.eth.get_balance(FRESH.address) == 0 and w3.eth.get_block("latest") == block


def test_the_embedded_chain_and_start_options_are_refused_in_one_line() -> None:
    embedded = CliRunner().invoke(main, ["node", "fund", FRESH.address, "--network", "embedded"])
    assert embedded.exit_code == 2 and "start `openledger node` and use these commands there" in embedded.output
    mixed = CliRunner().invoke(main, ["node", "--port", "9999", "advance-time", "60"])
    assert mixed.exit_code == 2 and "--port starts a node" in mixed.output and "--rpc-url" in mixed.output


def test_mining_that_outlasts_the_request_timeout_mines_exactly_the_blocks_asked() -> None:
    # A request that times out may still be taken by the node: re-sending `anvil_mine` (as every other request is
    # re-sent) mined the blocks again. Mining 2,000 blocks takes anvil over a second; the timeout is 0.1 s.
    with running_anvil() as url:
        chain = connect("localhost", url)
        provider = chain.w3.provider
        assert isinstance(provider, RetryingHTTPProvider)
        start = chain.w3.eth.block_number
        provider._request_kwargs["timeout"] = 0.1  # noqa: SLF001 - web3 keeps the requests options here
        height = chain.mine_blocks(2_000)
        provider._request_kwargs["timeout"] = 30  # noqa: SLF001
        assert height == start + 2_000
        time.sleep(1.0)  # nothing is still mining behind the answer
        assert chain.w3.eth.block_number == start + 2_000

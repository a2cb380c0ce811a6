"""Transactions at node speed, robust at that speed, on a real anvil node.

- A transaction not mined in time (anvil with automine off holds it in its pool) is replaced with the same
  nonce and fees at least 12.5% higher, with one log line; whichever is mined is the result; after a bounded
  number of replacements the send fails naming the transaction and its fees.
- Transient transport failures between us and the node are retried with backoff: a real HTTP proxy in front
  of anvil answers 503 / 429, drops the connection or stalls past the request timeout on chosen requests.
  A revert is an answer, not a failure: it is never retried (the proxy counts what reaches the node).
"""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from _anvil import running_anvil

from openledger_chain.build import load_artifact
from openledger_chain.chain import Chain, connect, dev_accounts
from openledger_chain.errors import ChainError, ContractRevertError

DEV = dev_accounts()


def _rpc(url: str, method: str, *params: object) -> object:
    request = urllib.request.Request(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                                                      "params": list(params)}).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["result"]


def _pooled(url: str, address: str) -> dict[str, dict]:
    """The sender's transactions in anvil's pool, by nonce."""
    return _rpc(url, "txpool_content")["pending"].get(address.lower(), {})


def test_a_transaction_not_mined_in_time_is_replaced_with_higher_fees(caplog: pytest.LogCaptureFixture) -> None:
    with running_anvil() as url:
        chain = connect("localhost", url)
        chain.tx_timeout, chain.max_replacements = 1.0, 3
        sender, to = DEV[7], DEV[8].address
        _rpc(url, "evm_setAutomine", False)  # the node holds every transaction until told to mine
        result: dict[str, object] = {}
        thread = threading.Thread(target=lambda: result.update(receipt=chain.send_value(sender, to, 12345)))
        with caplog.at_level(logging.WARNING, logger="openledger_chain"):
            thread.start()
            deadline = time.monotonic() + 20
            original = None
            while time.monotonic() < deadline and original is None:
                original = _pooled(url, sender.address).get("0")
                time.sleep(0.02)
            # It is not mined within tx_timeout; the replacement takes its place in the pool: mine that.
            while time.monotonic() < deadline:
                pooled = _pooled(url, sender.address).get("0")
                if pooled and pooled["hash"] != original["hash"]:
                    break
                time.sleep(0.02)
            _rpc(url, "evm_mine")
            thread.join(timeout=20)
        receipt = result["receipt"]
        mined = chain.w3.eth.get_transaction(receipt["transactionHash"])
        original_hash = original["hash"][2:]
        assert caplog.records[0].args[0] == original_hash
        assert bytes(receipt["transactionHash"]).hex() != original_hash and receipt["status"] == 1
        assert mined["nonce"] == 0 and mined["value"] == 12345
        for fee in ("maxPriorityFeePerGas", "maxFeePerGas"):  # +12.5% at least, both
            assert mined[fee] * 8 >= int(original[fee], 16) * 9, fee
        message = caplog.records[0].getMessage()
        assert message.startswith(f"transaction 0x{original_hash} (nonce 0) not mined after 1 s; replacing it with "
                                  "the same nonce at maxFeePerGas ") and "\n" not in message
        assert chain.w3.eth.get_balance(to) == 10_000 * 10**18 + 12345  # paid once


def test_a_transaction_never_mined_fails_after_bounded_replacements(caplog: pytest.LogCaptureFixture) -> None:
    with running_anvil() as url:
        chain = connect("localhost", url)
        chain.tx_timeout, chain.max_replacements = 0.3, 2
        _rpc(url, "evm_setAutomine", False)
        with caplog.at_level(logging.WARNING, logger="openledger_chain"), pytest.raises(ChainError) as info:
            chain.send_value(DEV[7], DEV[8].address, 1)
        assert len(caplog.records) == 2  # two replacements, then it gives up
        message = str(info.value)
        assert "(nonce 0) was not mined after 3 attempts of 0.3 s each, the last at maxFeePerGas" in message
        assert "run the command again (it resumes)" in message and "\n" not in message
        # Each replacement raised both fees by 12.5% or more: anvil accepted every one (it refuses less).
        fees = _pooled(url, DEV[7].address)["0"]
        first = caplog.records[0].getMessage()
        assert int(fees["maxPriorityFeePerGas"], 16) > 0 and "was maxFeePerGas" in first


# ----------------------------------------------------------------------------- transient failures


class _FlakyProxy(http.server.ThreadingHTTPServer):
    """An HTTP proxy to the node that fails chosen requests: `plan` maps a JSON-RPC method to the failures
    its next calls get ("503", "429", "drop", "stall"), in order; everything else is forwarded."""

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.plan: dict[str, list[str]] = {}
        self.forwarded: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _FlakyProxy

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        method = json.loads(body).get("method", "")
        plan = self.server.plan.get(method)
        failure = plan.pop(0) if plan else None
        if failure is not None:
            self.server.failed[method] += 1
        if failure in ("503", "429"):
            self.send_response(int(failure))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if failure == "drop":
            self.connection.close()
            return
        if failure == "stall":
            time.sleep(1.5)  # past the client's request timeout
            self.connection.close()
            return
        self.server.forwarded[method] += 1
        request = urllib.request.Request(self.server.upstream, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = response.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@contextmanager
def _flaky_chain() -> Iterator[tuple[Chain, _FlakyProxy]]:
    with running_anvil() as url:
        proxy = _FlakyProxy(url)
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        try:
            chain = connect("localhost", proxy.url)
            provider = chain.w3.provider
            provider.backoff = 0.01  # fast tests; the schedule is still doubling
            provider._request_kwargs["timeout"] = 1.0
            yield chain, proxy
        finally:
            proxy.shutdown()
            proxy.server_close()


def test_transient_failures_are_retried_with_backoff_and_a_revert_never_is(caplog: pytest.LogCaptureFixture) -> None:
    with _flaky_chain() as (chain, proxy):
        artifact = load_artifact("ContributionRegistry")
        proxy.plan = {"eth_sendRawTransaction": ["503", "drop"], "eth_getTransactionReceipt": ["429", "stall"],
                      "eth_estimateGas": ["503"]}
        with caplog.at_level(logging.WARNING, logger="openledger_chain"):
            address = chain.deploy(artifact.abi, artifact.bytecode, DEV[0], DEV[0].address)["contractAddress"]
        assert proxy.failed["eth_sendRawTransaction"] == 2 and proxy.forwarded["eth_sendRawTransaction"] == 1
        assert proxy.failed["eth_getTransactionReceipt"] == 2
        assert {"HTTP 503", "HTTP 429", "a connection error", "a timeout"} <= {
            r.args[1] for r in caplog.records}
        assert chain.w3.eth.get_transaction_count(DEV[0].address) == 1  # sent once, mined once
        registry = chain.w3.eth.contract(address=address, abi=artifact.abi)
        # A revert comes back as an answer: one estimate reaches the node, nothing is sent.
        proxy.forwarded.clear()
        proxy.plan = {"eth_estimateGas": ["503"]}
        with pytest.raises(ContractRevertError) as info:
            chain.transact(registry.functions.setStakeMinter("0x" + "00" * 20), DEV[0])
        assert info.value.name == "ContributionRegistryZeroAddress"
        assert proxy.forwarded["eth_estimateGas"] == 1 and proxy.forwarded["eth_sendRawTransaction"] == 0
        # Bounded: a node that keeps failing is given up on after RPC_RETRIES retries.
        proxy.plan = {"eth_blockNumber": ["503"] * 10}
        with pytest.raises(Exception, match="503"):
            chain.w3.eth.block_number
        assert proxy.failed["eth_blockNumber"] == 6  # 1 try + 5 retries

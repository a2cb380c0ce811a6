"""Fetching contributions by URI from a real HTTP server started by the test (and an IPFS gateway stand-in):
the right bytes are cached by content hash; a wrong hash, a 404, a timeout, an oversized file and an
unknown scheme are each excluded with their reason, and never fail a round."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from eth_utils import keccak

from openledger_chain.fetch import FetchSettings, Served, fetch_contribution, probe
from openledger_chain.oracle import propose_round
from openledger_chain.types import ContributionKind, ModelParams

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "attribution"
BODY = b"a,b,diagnosis\n1,2,0\n"


class _Files(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    hits: dict[str, int] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        if self.path == "/slow":
            time.sleep(2)
        if self.path == "/flaky" and self.hits[self.path] == 1:
            self.send_response(503)
            self.end_headers()
            return
        data = BODY if self.path in ("/flaky", "/ipfs/bafy/x") else self.files.get(self.path)
        if data is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Files.files = {"/data.csv": BODY, "/slow": BODY, "/big.csv": b"x" * 5000}
    _Files.hits = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def _settings(tmp_path: Path, server: str = "", **changes: object) -> FetchSettings:
    defaults = {"base_dir": tmp_path, "cache_dir": tmp_path / "cache", "ipfs_gateway": server or None,
                "max_bytes": 1000, "timeout": 0.5, "retries": 1}
    return FetchSettings(**(defaults | changes))


def test_http_and_ipfs_are_fetched_checked_and_cached_by_content_hash(tmp_path: Path, server: str) -> None:
    settings = _settings(tmp_path, server)
    fetched = fetch_contribution(f"{server}/data.csv", keccak(BODY), settings)
    assert fetched.excluded is None and fetched.path == tmp_path / "cache" / keccak(BODY).hex()
    assert fetched.path.read_bytes() == BODY
    # The second fetch of the same bytes comes from the cache, whatever the URI.
    hits = dict(_Files.hits)
    assert fetch_contribution("ipfs://bafy/x", keccak(BODY), settings).path == fetched.path
    assert _Files.hits == hits
    shutil.rmtree(tmp_path / "cache")
    assert fetch_contribution("ipfs://bafy/x", keccak(BODY), settings).excluded is None
    assert _Files.hits.get("/ipfs/bafy/x") == 1  # through the gateway: <gateway>/ipfs/<cid>/<path>


@pytest.mark.parametrize(("path", "content", "reason"), [
    ("/data.csv", b"other bytes", "content hash mismatch"),
    ("/missing.csv", BODY, "HTTP 404"),
    ("/slow", BODY, "timed out after 0.5 s"),
    ("/big.csv", b"x" * 5000, "larger than 1000 bytes"),
])
def test_each_bad_fetch_is_excluded_with_its_reason(tmp_path: Path, server: str, path: str, content: bytes,
                                                    reason: str) -> None:
    fetched = fetch_contribution(f"{server}{path}", keccak(content), _settings(tmp_path, server))
    assert fetched.path is None and fetched.excluded.startswith(reason)
    assert not (tmp_path / "cache" / keccak(content).hex()).exists()  # nothing unchecked is cached


def test_a_server_error_is_retried_a_bounded_number_of_times(tmp_path: Path, server: str) -> None:
    fetched = fetch_contribution(f"{server}/flaky", keccak(BODY), _settings(tmp_path, server))
    assert fetched.excluded is None and _Files.hits["/flaky"] == 2
    never = fetch_contribution(f"{server}/slow", keccak(b"slow"), _settings(tmp_path, server, retries=2))
    assert never.excluded.startswith("timed out") and _Files.hits["/slow"] == 3


def test_local_paths_and_unknown_schemes(tmp_path: Path) -> None:
    (tmp_path / "here.csv").write_bytes(BODY)
    settings = _settings(tmp_path)
    assert fetch_contribution("here.csv", keccak(BODY), settings).path == tmp_path / "here.csv"
    assert fetch_contribution((tmp_path / "here.csv").as_uri(), keccak(BODY), settings).path == tmp_path / "here.csv"
    assert fetch_contribution("gone.csv", keccak(BODY), settings).excluded == "file not found"
    assert "unsupported URI scheme 'ftp'" in fetch_contribution("ftp://x/y", keccak(BODY), settings).excluded


@pytest.mark.parametrize("uri", ["http://[oops", "ipfs://[", "http://a b/x"])
def test_a_malformed_uri_is_excluded_not_raised(tmp_path: Path, uri: str) -> None:
    """urllib raises on these (ValueError, http.client.InvalidURL); a contributor registers whatever URI it
    likes, and one such URI used to stop `round propose` for the whole model."""
    fetched = fetch_contribution(uri, keccak(BODY), _settings(tmp_path))
    assert fetched.path is None and fetched.excluded.startswith("malformed URI (")


def test_probe_reads_what_a_uri_serves_as_a_fetch_would_and_caches_nothing(tmp_path: Path, server: str) -> None:
    """What `contribute` and `round reveal-eval` compare with the file they publish: the same schemes, limits and
    retries as a fetch, reported as a digest or a problem, and nothing written to the cache."""
    (tmp_path / "here.csv").write_bytes(BODY)
    settings = _settings(tmp_path, server)
    for uri in (f"{server}/data.csv", "ipfs://bafy/x", (tmp_path / "here.csv").as_uri(), f"{server}/flaky"):
        assert probe(uri, settings) == Served(keccak(BODY), len(BODY)), uri
    assert _Files.hits["/flaky"] == 2  # a 503, then the bytes
    assert probe(f"{server}/missing.csv", settings).problem.startswith("HTTP 404 from")
    assert probe(f"{server}/big.csv", settings).problem == "larger than 1000 bytes"
    assert probe(f"{server}/slow", settings).problem == "timed out after 0.5 s"
    assert probe((tmp_path / "gone.csv").as_uri(), settings).problem == f"no file at {tmp_path / 'gone.csv'}"
    assert probe("ftp://x/y", settings).problem == "unsupported URI scheme 'ftp'"
    assert probe("http://[oops", settings).problem.startswith("malformed URI (")
    assert not (tmp_path / "cache").exists()


def test_a_round_runs_with_remote_contributions_and_excludes_the_bad_ones(ledger, accounts, tmp_path: Path,
                                                                          server: str) -> None:
    for name in ("spec.json", "eval.csv"):
        shutil.copyfile(EXAMPLE / name, tmp_path / name)
    spec = tmp_path / "spec.json"
    model, _ = ledger.register_model(accounts.owner, ModelParams(
        keccak(spec.read_bytes()), spec.as_uri(), ledger.dev_payment_token or "", 3_000, 10**21, 10**24, "S", "S"))
    alice, bob = (EXAMPLE / "alice.csv").read_bytes(), (EXAMPLE / "bob.csv").read_bytes()
    _Files.files |= {"/alice.csv": alice, "/bob.csv": b"not bob's registered bytes"}
    ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, keccak(alice),
                                 f"{server}/alice.csv")
    ledger.register_contribution(accounts.bob, model.model_id, ContributionKind.DATA, keccak(bob), f"{server}/bob.csv")
    ledger.register_contribution(accounts.carol, model.model_id, ContributionKind.DATA, keccak(b"nowhere"),
                                 f"{server}/nowhere.csv")
    ledger.register_contribution(accounts.stranger, model.model_id, ContributionKind.DATA, keccak(b"oops"), "http://[oops")
    ledger.chain.mine_blocks(256)  # the registrations settle (ContributionRegistry.REVEAL_PERIOD_BLOCKS)
    ledger.commit_evaluation(accounts.owner, model.model_id, 1, keccak((tmp_path / "eval.csv").read_bytes()))
    _, round_file = propose_round(ledger, model.model_id, spec_path=spec, eval_path=tmp_path / "eval.csv",
                                  rounds_dir=tmp_path / "rounds", fetch=_settings(tmp_path, server, max_bytes=10**6))
    reasons = {i["contributor"]: i.get("excluded") for i in round_file.body["inputs"]}
    assert reasons[accounts.alice.address] is None
    assert reasons[accounts.bob.address] == "content hash mismatch"
    assert reasons[accounts.carol.address].startswith("HTTP 404")
    assert reasons[accounts.stranger.address] == "malformed URI (Invalid IPv6 URL)"
    assert [s["account"] for s in round_file.body["scores"]] == [accounts.alice.address]

"""A registered URI is whatever bytes its contributor sent (Solidity does not check UTF-8), and only that
contributor can withdraw it: it must not stop anyone reading the registry, proposing a round or indexing."""

from __future__ import annotations

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak
from test_oracle import _propose, setup  # noqa: F401 - `setup` is a fixture

from openledger_chain.chain import Calldata
from openledger_chain.contracts import new_salt
from openledger_chain.types import ContributionKind

NOT_UTF8 = b"ipfs://\xff\xfe"


def _register_raw_uri(ledger, who, model_id: int, content_hash: bytes, uri: bytes) -> None:
    """registerContribution with a `string uri` that is not UTF-8 (strings and bytes encode alike)."""
    salt = new_salt()
    ledger.commit(who, [ledger.commitment(model_id, who.address, ContributionKind.DATA, content_hash, salt)])
    selector = function_signature_to_4byte_selector("registerContribution(uint256,uint8,bytes32,string,bytes32)")
    data = selector + abi_encode(["uint256", "uint8", "bytes32", "bytes", "bytes32"],
                                 [model_id, int(ContributionKind.DATA), content_hash, uri, salt])
    ledger.chain.transact(Calldata(ledger.registry.address, data), who)


def test_a_uri_that_is_not_utf8_is_read_replaced_and_its_contribution_left_out(ledger, accounts, setup,  # noqa: F811
                                                                                tmp_path) -> None:
    from openledger_chain.indexer import open_database
    from openledger_chain.indexer.ingest import Indexer

    model, workdir = setup
    _register_raw_uri(ledger, accounts.stranger, model.model_id, keccak(b"junk"), NOT_UTF8)
    ledger.chain.mine_blocks(256)  # the registration settles (ContributionRegistry.REVEAL_PERIOD_BLOCKS)
    (odd,) = [c for c in ledger.contributions(model.model_id) if c.contributor == accounts.stranger.address]
    assert odd.uri == "ipfs://\ufffd\ufffd"  # was: UnicodeDecodeError for every reader of the registry
    _, round_file = _propose(ledger, model, workdir)
    excluded = [i.get("excluded") for i in round_file.body["inputs"] if i["contributor"] == accounts.stranger.address]
    assert len(excluded) == 1 and excluded[0]
    assert len(round_file.body["scores"]) > 0
    indexer = Indexer(ledger, open_database(f"sqlite:///{tmp_path / 'index.db'}"))
    indexer.run()  # used to fail at that block on every run, so the index never moved past it
    assert indexer.status().indexed == ledger.chain.w3.eth.block_number


def test_a_uri_that_looks_like_an_address_is_read_back_as_registered(ledger, accounts, setup) -> None:  # noqa: F811
    """Decoded event values were checksummed whenever they looked like an address: a URI of "0x" and 40 other
    characters stopped every reader of the registry (to_checksum_address raised), and a 40-hex-digit one came back
    in another case. Values are now converted by their ABI type."""
    model, _ = setup
    not_hex, hex_like = b"0x" + b"g" * 40, b"0x" + b"ab" * 20
    for index, uri in enumerate((not_hex, hex_like)):
        _register_raw_uri(ledger, accounts.stranger, model.model_id, keccak(b"looks like an address %d" % index), uri)
    read = [c.uri for c in ledger.contributions(model.model_id) if c.contributor == accounts.stranger.address]
    assert read == [not_hex.decode(), hex_like.decode()]

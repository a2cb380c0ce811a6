"""ContributionRegistry on the embedded chain: every function and every revert path."""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak

from openledger_chain.chain import decode_revert, dev_accounts
from openledger_chain.contracts import OpenLedger, registration_typed_data
from openledger_chain.errors import ContractRevertError
from openledger_chain.types import ContributionKind, Model

from _helpers import (
    MAX_BPS,
    MAX_EMISSION,
    ZERO_ADDRESS,
    at,
    call,
    create2_address,
    deploy,
    event_args,
    model_params,
    revert_of,
    reverts,
    TEST_DEPLOYER,
    stake_setup,
    stake_token_init_code,
)

DEFAULT_ADMIN_ROLE = b"\x00" * 32
H1 = keccak(text="dataset-1")
H2 = keccak(text="dataset-2")
H3 = keccak(text="dataset-3")


@pytest.fixture
def fresh_registry(chain, accounts):
    """A registry with no stake minter yet (admin: deployer)."""
    return deploy(chain, "ContributionRegistry", accounts.deployer, accounts.deployer.address)


def _latest_timestamp(chain) -> int:
    return int(chain.w3.eth.get_block("latest")["timestamp"])


SALT = keccak(text="test salt")


def _commit(ledger: OpenLedger, contributor: str, model_id: int, kind, content_hash: bytes, salt: bytes = SALT) -> None:
    """Post the registration's commitment (anyone may; the dev deployer pays) in a block of its own."""
    ledger.commit(dev_accounts()[0], [ledger.commitment(model_id, contributor, kind, content_hash, salt)])


def _commit_items(ledger: OpenLedger, contributor: str, model_id: int, items) -> None:
    ledger.commit(dev_accounts()[0], [
        ledger.commitment(model_id, contributor, ContributionKind(kind), content_hash, salt)
        for kind, content_hash, _, salt in items
    ])


def _sign(ledger: OpenLedger, signer, *, contributor=None, chain_id=None, registry=None, model_id=1,
          kind=ContributionKind.DATA, content_hash=H1, uri="ipfs://c1", nonce=None, deadline=None, salt=SALT):
    """An EIP-712 registration signature, with any field of the message or domain overridable."""
    contributor = contributor or signer.address
    if nonce is None:
        nonce = int(ledger.registry.functions.nonces(contributor).call())
    if deadline is None:
        deadline = _latest_timestamp(ledger.chain) + 3600
    message = registration_typed_data(
        chain_id if chain_id is not None else ledger.chain.chain_id,
        registry or ledger.registry.address,
        model_id, kind, content_hash, uri, salt, contributor, nonce, deadline,
    )
    return deadline, bytes(Account.sign_typed_data(signer.key, full_message=message).signature)


def _register_for(ledger, relayer, contributor, deadline, signature, *, model_id=1, kind=ContributionKind.DATA,
                  content_hash=H1, uri="ipfs://c1", salt=SALT, commit=True):
    if commit:
        _commit(ledger, contributor, model_id, kind, content_hash, salt)
    return ledger.chain.transact(
        ledger.registry.functions.registerContributionFor(
            model_id, int(kind), content_hash, uri, salt, contributor, deadline, signature
        ),
        relayer,
    )


# ----- constructor and setStakeMinter


def test_constructor_reverts_when_admin_is_zero(chain, accounts):
    with pytest.raises(ContractRevertError) as info:
        deploy(chain, "ContributionRegistry", accounts.deployer, ZERO_ADDRESS)
    assert revert_of(info) == ("ContributionRegistryZeroAddress", ())


def test_constructor_grants_admin_role(fresh_registry, accounts):
    assert fresh_registry.functions.hasRole(DEFAULT_ADMIN_ROLE, accounts.deployer.address).call()
    assert not fresh_registry.functions.hasRole(DEFAULT_ADMIN_ROLE, accounts.stranger.address).call()
    assert fresh_registry.functions.stakeMinter().call() == ZERO_ADDRESS


def test_set_stake_minter_sets_minter_and_emits(chain, fresh_registry, accounts):
    receipt = chain.transact(fresh_registry.functions.setStakeMinter(accounts.carol.address), accounts.deployer)
    assert fresh_registry.functions.stakeMinter().call() == accounts.carol.address
    assert event_args(fresh_registry, "StakeMinterSet", receipt) == [{"minter": accounts.carol.address}]


def test_set_stake_minter_reverts_when_caller_is_not_admin(chain, fresh_registry, accounts):
    with pytest.raises(ContractRevertError) as info:
        chain.transact(fresh_registry.functions.setStakeMinter(accounts.stranger.address), accounts.stranger)
    assert revert_of(info) == ("AccessControlUnauthorizedAccount", (accounts.stranger.address, DEFAULT_ADMIN_ROLE))


def test_set_stake_minter_reverts_when_zero_address(chain, fresh_registry, accounts):
    with pytest.raises(ContractRevertError) as info:
        chain.transact(fresh_registry.functions.setStakeMinter(ZERO_ADDRESS), accounts.deployer)
    assert revert_of(info) == ("ContributionRegistryZeroAddress", ())


def test_set_stake_minter_reverts_when_already_set(ledger, accounts):
    """On a registry whose admin kept its role (the deployed one's admin renounced it after this call)."""
    stake = stake_setup(ledger.chain, TEST_DEPLOYER, accounts.owner)
    registry, minter = stake.registry, stake.minter.address
    assert registry.functions.stakeMinter().call() == minter
    for new_minter in (TEST_DEPLOYER.address, minter):  # another address, or the same again
        with pytest.raises(ContractRevertError) as info:
            stake.chain.transact(registry.functions.setStakeMinter(new_minter), TEST_DEPLOYER)
        assert revert_of(info) == ("ContributionRegistryStakeMinterAlreadySet", (minter,))
    assert registry.functions.stakeMinter().call() == minter


def test_deployed_registry_has_no_admin_left(ledger, accounts):
    """`deploy` renounces the registry's admin role once the stake minter is named: no key holds it."""
    admin_role = ledger.registry.functions.DEFAULT_ADMIN_ROLE().call()
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.setStakeMinter(accounts.deployer.address), accounts.deployer)
    assert revert_of(info) == ("AccessControlUnauthorizedAccount", (accounts.deployer.address, admin_role))
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.grantRole(admin_role, accounts.deployer.address),
                              accounts.deployer)
    assert revert_of(info)[0] == "AccessControlUnauthorizedAccount"


# ----- registerModel


def test_register_model_reverts_when_stake_minter_not_set(chain, fresh_registry, accounts, ledger):
    params = model_params(ledger.dev_payment_token)
    with pytest.raises(ContractRevertError) as info:
        chain.transact(fresh_registry.functions.registerModel(params), accounts.owner)
    assert revert_of(info) == ("ContributionRegistryStakeMinterNotSet", ())


def test_register_model_reverts_when_payment_token_is_zero(ledger, accounts):
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.registerModel(model_params(ZERO_ADDRESS)), accounts.owner)
    assert revert_of(info) == ("ContributionRegistryZeroAddress", ())


def test_register_model_reverts_when_share_above_max_bps(ledger, accounts):
    params = model_params(ledger.dev_payment_token, share_bps=MAX_BPS + 1)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.registerModel(params), accounts.owner)
    assert revert_of(info) == ("ContributionRegistryInvalidShare", (MAX_BPS + 1,))


@pytest.mark.parametrize(
    ("per_round", "maximum"), [(0, MAX_EMISSION), (0, 0), (MAX_EMISSION + 1, MAX_EMISSION), (2, 1)]
)
def test_register_model_reverts_when_emission_policy_invalid(ledger, accounts, per_round, maximum):
    params = model_params(ledger.dev_payment_token, emission_per_round=per_round, max_emission=maximum)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.registerModel(params), accounts.owner)
    assert revert_of(info) == ("ContributionRegistryInvalidEmissionPolicy", (per_round, maximum))


def test_register_model_accepts_boundary_values(ledger, accounts):
    # share exactly 100%, one round may mint the whole maximum, maximum at the uint96 limit.
    top = 2**96 - 1
    params = model_params(ledger.dev_payment_token, share_bps=MAX_BPS, emission_per_round=top, max_emission=top)
    receipt = ledger.chain.transact(ledger.registry.functions.registerModel(params), accounts.owner)
    (event,) = event_args(ledger.registry, "ModelRegistered", receipt)
    assert (event["contributorShareBps"], event["emissionPerRound"], event["maxEmission"]) == (MAX_BPS, top, top)


def test_register_model_emits_every_field_and_ids_start_at_one(ledger, accounts):
    assert ledger.registry.functions.modelCount().call() == 0
    payment = ledger.dev_payment_token
    for expected_id, (owner, share, spec) in enumerate(
        [(accounts.owner, 3_000, b"\x01" * 32), (accounts.alice, 0, b"\x02" * 32)], start=1
    ):
        params = model_params(payment, share_bps=share, spec_hash=spec, spec_uri=f"ipfs://spec{expected_id}",
                              emission_per_round=7 * expected_id, max_emission=1_000 * expected_id,
                              name=f"Model {expected_id} Stake", symbol=f"STK{expected_id}")
        receipt = ledger.chain.transact(ledger.registry.functions.registerModel(params), owner)
        (event,) = event_args(ledger.registry, "ModelRegistered", receipt)
        stake = event["stakeToken"]
        assert event == {
            "modelId": expected_id,
            "owner": owner.address,
            "stakeToken": stake,
            "paymentToken": payment,
            "contributorShareBps": share,
            "emissionPerRound": 7 * expected_id,
            "maxEmission": 1_000 * expected_id,
            "specHash": spec,
            "specURI": f"ipfs://spec{expected_id}",
            "name": f"Model {expected_id} Stake",
            "symbol": f"STK{expected_id}",
        }
        token = at(ledger.chain, "ModelStakeToken", stake).functions
        assert (token.name().call(), token.symbol().call()) == (event["name"], event["symbol"])
        stored = ledger.registry.functions.getModel(expected_id).call()
        assert tuple(stored) == (owner.address, share, payment, stake, 7 * expected_id, 1_000 * expected_id, spec)
        assert ledger.registry.functions.modelCount().call() == expected_id


def test_register_model_deploys_stake_token_at_create2_address(ledger, accounts):
    params = model_params(ledger.dev_payment_token, name="Alpha Stake", symbol="ALPHA")
    receipt = ledger.chain.transact(ledger.registry.functions.registerModel(params), accounts.owner)
    (event,) = event_args(ledger.registry, "ModelRegistered", receipt)
    assert (event["name"], event["symbol"]) == ("Alpha Stake", "ALPHA")  # the stake token's, in the event
    model_id = event["modelId"]
    init_code = stake_token_init_code(
        "Alpha Stake", "ALPHA", model_id, ledger.dev_payment_token, ledger.distributor.address
    )
    expected = create2_address(ledger.registry.address, model_id, init_code)
    assert event["stakeToken"] == expected
    stake = at(ledger.chain, "ModelStakeToken", expected)
    assert len(ledger.chain.w3.eth.get_code(expected)) > 0
    assert stake.functions.name().call() == "Alpha Stake"
    assert stake.functions.symbol().call() == "ALPHA"
    assert stake.functions.modelId().call() == model_id
    assert stake.functions.paymentToken().call() == ledger.dev_payment_token
    assert stake.functions.minter().call() == ledger.distributor.address
    assert stake.functions.totalSupply().call() == 0


# ----- registerContribution


@pytest.mark.parametrize("kind", list(ContributionKind))
def test_register_contribution_records_each_kind(ledger, accounts, model: Model, kind):
    content = keccak(text=f"content-{kind.name}")
    _commit(ledger, accounts.alice.address, model.model_id, kind, content)
    receipt = ledger.chain.transact(
        ledger.registry.functions.registerContribution(model.model_id, int(kind), content, "ipfs://x", SALT),
        accounts.alice,
    )
    (event,) = event_args(ledger.registry, "ContributionRegistered", receipt)
    assert event == {
        "contributionId": 1,
        "modelId": model.model_id,
        "contributor": accounts.alice.address,
        "kind": int(kind),
        "contentHash": content,
        "uri": "ipfs://x",
    }
    stored = ledger.registry.functions.getContribution(1).call()
    assert tuple(stored) == (model.model_id, accounts.alice.address, int(kind), False, False, receipt["blockNumber"],
                             content)
    assert ledger.registry.functions.contributionByContent(model.model_id, content).call() == 1
    assert ledger.registry.functions.contributionCount().call() == 1


def test_register_contribution_reverts_when_kind_out_of_range(ledger, accounts, model: Model):
    # The ABI decoder rejects an enum value past the last member (Annotation = 4) with empty revert data.
    data = ledger.registry.encode_abi("registerContribution", [model.model_id, 0, H1, "u", SALT])
    selector, body = data[:10], bytes.fromhex(data[10:])
    bad = selector + (body[:32] + (len(ContributionKind)).to_bytes(32, "big") + body[64:]).hex()
    tx = {"to": ledger.registry.address, "from": accounts.alice.address, "data": bad}
    with pytest.raises(ContractRevertError) as info:
        try:
            ledger.chain.w3.eth.call(tx)
        except Exception as exc:  # noqa: BLE001 - decode whatever web3 raised, as Chain.transact does
            raise decode_revert(exc) from exc
    assert revert_of(info) == ("Revert", ())
    assert ledger.registry.functions.contributionCount().call() == 0


def test_register_contribution_ids_increase_across_models_and_contributors(ledger, accounts, model: Model):
    second, _ = ledger.register_model(accounts.owner, _params_like(ledger))
    ids = [
        ledger.register_contribution(who, m, ContributionKind.DATA, h, "u")[0]
        for who, m, h in [(accounts.alice, model.model_id, H1), (accounts.bob, second.model_id, H2),
                          (accounts.alice, second.model_id, H3)]
    ]
    assert ids == [1, 2, 3]


def test_register_contribution_reverts_when_model_unknown(ledger, accounts, model: Model):
    for unknown in (0, model.model_id + 1):
        with pytest.raises(ContractRevertError) as info:
            ledger.register_contribution(accounts.alice, unknown, ContributionKind.DATA, H1, "u")
        assert revert_of(info) == ("ContributionRegistryUnknownModel", (unknown,))


def test_register_contribution_reverts_when_content_hash_is_zero(ledger, accounts, model: Model):
    with pytest.raises(ContractRevertError) as info:
        ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, b"\x00" * 32, "u")
    assert revert_of(info) == ("ContributionRegistryZeroContentHash", ())


def test_register_contribution_reverts_when_content_already_registered(ledger, accounts, model: Model):
    first, _ = ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "a")
    # Anyone, including the first contributor, with any kind or URI: the first registration wins.
    for who, kind in [(accounts.bob, ContributionKind.COMPUTE), (accounts.alice, ContributionKind.DATA)]:
        with pytest.raises(ContractRevertError) as info:
            ledger.register_contribution(who, model.model_id, kind, H1, "b")
        assert revert_of(info) == ("ContributionRegistryDuplicateContent", (model.model_id, H1, first))
    assert ledger.registry.functions.getContribution(first).call()[1] == accounts.alice.address


def test_register_contribution_keeps_content_with_its_first_registrant_in_every_model(ledger, accounts, model: Model):
    """Issue 24, N-3: the same content in another model belongs to its first registrant there too."""
    second, _ = ledger.register_model(accounts.owner, _params_like(ledger))
    first, _ = ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "a")
    holder, committed_at = ledger.registry.functions.contentClaim(H1).call()
    assert holder == accounts.alice.address
    # The toolkit refuses before paying for a commitment; the contract refuses the registration itself.
    with reverts("ContributionRegistryContentClaimed", H1, accounts.alice.address, committed_at):
        ledger.register_contribution(accounts.bob, second.model_id, ContributionKind.DATA, H1, "a")
    salt = b"\x0b" * 32
    ledger.commit(accounts.bob, [ledger.commitment(second.model_id, accounts.bob.address, ContributionKind.DATA, H1, salt)])
    with reverts("ContributionRegistryContentClaimed", H1, accounts.alice.address, committed_at):
        ledger.chain.transact(ledger.registry.functions.registerContribution(second.model_id, 0, H1, "b", salt),
                              accounts.bob)
    other, _ = ledger.register_contribution(accounts.alice, second.model_id, ContributionKind.DATA, H1, "a")
    assert other == first + 1
    assert ledger.registry.functions.contributionByContent(model.model_id, H1).call() == first
    assert ledger.registry.functions.contributionByContent(second.model_id, H1).call() == other


def test_register_contribution_keeps_withdrawn_content_taken(ledger, accounts, model: Model):
    first, _ = ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "a")
    ledger.chain.transact(ledger.registry.functions.withdrawContribution(first), accounts.alice)
    with pytest.raises(ContractRevertError) as info:
        ledger.register_contribution(accounts.bob, model.model_id, ContributionKind.DATA, H1, "a")
    assert revert_of(info) == ("ContributionRegistryDuplicateContent", (model.model_id, H1, first))


def test_contribution_by_content_is_zero_when_unregistered(ledger, model: Model):
    assert ledger.registry.functions.contributionByContent(model.model_id, H1).call() == 0
    assert ledger.registry.functions.contributionByContent(999, H1).call() == 0


# ----- registerContributions (batch)


def test_register_contributions_assigns_consecutive_ids(ledger, accounts, model: Model):
    ledger.register_contribution(accounts.bob, model.model_id, ContributionKind.DATA, keccak(text="x"), "x")
    items = [(int(ContributionKind.DATA), H1, "u1", SALT), (int(ContributionKind.ANNOTATION), H2, "u2", SALT),
             (int(ContributionKind.EVALUATION), H3, "u3", SALT)]
    _commit_items(ledger, accounts.alice.address, model.model_id, items)
    ledger.chain.w3.provider.ethereum_tester.mine_blocks(1)  # `call` runs in the commitment's block otherwise
    function = ledger.registry.functions.registerContributions(model.model_id, items)
    assert function.call({"from": accounts.alice.address}) == 2  # the first id, returned
    receipt = ledger.chain.transact(function, accounts.alice)
    events = event_args(ledger.registry, "ContributionRegistered", receipt)
    assert [(e["contributionId"], e["contributor"], e["kind"], e["contentHash"], e["uri"]) for e in events] == [
        (2 + i, accounts.alice.address, kind, h, uri) for i, (kind, h, uri, _) in enumerate(items)
    ]
    assert ledger.registry.functions.contributionCount().call() == 4
    assert [ledger.registry.functions.contributionByContent(model.model_id, h).call() for h in (H1, H2, H3)] == [2, 3, 4]


def test_register_contributions_reverts_when_batch_empty(ledger, accounts, model: Model):
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.registerContributions(model.model_id, []), accounts.alice)
    assert revert_of(info) == ("ContributionRegistryEmptyBatch", ())


def test_register_contributions_reverts_when_model_unknown(ledger, accounts, model: Model):
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(
            ledger.registry.functions.registerContributions(model.model_id + 1, [(0, H1, "u", SALT)]), accounts.alice
        )
    assert revert_of(info) == ("ContributionRegistryUnknownModel", (model.model_id + 1,))


def test_register_contributions_reverts_atomically_on_duplicate_inside_batch(ledger, accounts, model: Model):
    items = [(0, H1, "u1", SALT), (1, H2, "u2", SALT), (2, H1, "u3", SALT)]
    _commit_items(ledger, accounts.alice.address, model.model_id, items)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.registerContributions(model.model_id, items), accounts.alice)
    # H1 got id 1 earlier in the same batch; that registration is rolled back with the rest.
    assert revert_of(info) == ("ContributionRegistryDuplicateContent", (model.model_id, H1, 1))
    assert ledger.registry.functions.contributionCount().call() == 0
    assert ledger.registry.functions.contributionByContent(model.model_id, H1).call() == 0
    assert ledger.registry.functions.contributionByContent(model.model_id, H2).call() == 0


def test_register_contributions_reverts_on_zero_hash_inside_batch(ledger, accounts, model: Model):
    items = [(0, H1, "u1", SALT), (0, b"\x00" * 32, "u2", SALT)]
    _commit_items(ledger, accounts.alice.address, model.model_id, items)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.registerContributions(model.model_id, items), accounts.alice)
    assert revert_of(info) == ("ContributionRegistryZeroContentHash", ())
    assert ledger.registry.functions.contributionCount().call() == 0


# ----- registerContributionFor (EIP-712)


def test_domain_separator_matches_independent_computation(ledger):
    type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    expected = keccak(abi_encode(
        ["bytes32", "bytes32", "bytes32", "uint256", "address"],
        [type_hash, keccak(text="OpenLedger ContributionRegistry"), keccak(text="1"), ledger.chain.chain_id,
         ledger.registry.address],
    ))
    assert ledger.registry.functions.DOMAIN_SEPARATOR().call() == expected
    assert ledger.registry.functions.REGISTER_CONTRIBUTION_TYPEHASH().call() == keccak(
        text="RegisterContribution(uint256 modelId,uint8 kind,bytes32 contentHash,string uri,bytes32 salt,"
        "address contributor,uint256 nonce,uint256 deadline)"
    )


def test_register_contribution_for_registers_for_contributor_while_relayer_pays(ledger, accounts, model: Model):
    w3 = ledger.chain.w3
    alice, relayer = accounts.alice, accounts.stranger
    deadline, signature = _sign(ledger, alice, model_id=model.model_id, kind=ContributionKind.FINETUNE)
    alice_eth, relayer_eth = w3.eth.get_balance(alice.address), w3.eth.get_balance(relayer.address)
    receipt = _register_for(ledger, relayer, alice.address, deadline, signature, model_id=model.model_id,
                            kind=ContributionKind.FINETUNE)
    (event,) = event_args(ledger.registry, "ContributionRegistered", receipt)
    assert (event["contributor"], event["kind"], event["contentHash"], event["uri"]) == (
        alice.address, int(ContributionKind.FINETUNE), H1, "ipfs://c1")
    assert ledger.registry.functions.getContribution(event["contributionId"]).call()[1] == alice.address
    assert ledger.registry.functions.nonces(alice.address).call() == 1
    assert ledger.registry.functions.nonces(relayer.address).call() == 0
    assert w3.eth.get_balance(alice.address) == alice_eth
    gas_cost = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(relayer.address) == relayer_eth - gas_cost


def test_register_contribution_for_works_with_the_python_signer(ledger, accounts, model: Model):
    _commit(ledger, accounts.alice.address, model.model_id, ContributionKind.COMPUTE, H2)
    deadline, signature = ledger.sign_contribution(
        accounts.alice, model.model_id, ContributionKind.COMPUTE, H2, "ipfs://py", SALT,
        deadline=_latest_timestamp(ledger.chain) + 60,
    )
    cid, _ = ledger.register_contribution_for(
        accounts.bob, accounts.alice.address, model.model_id, ContributionKind.COMPUTE, H2, "ipfs://py", SALT,
        deadline, signature,
    )
    assert ledger.registry.functions.getContribution(cid).call()[1] == accounts.alice.address


def test_register_contribution_for_reverts_when_signed_by_another_key(ledger, accounts, model: Model):
    deadline, signature = _sign(ledger, accounts.bob, contributor=accounts.alice.address)
    with pytest.raises(ContractRevertError) as info:
        _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature)
    assert revert_of(info) == ("ContributionRegistryInvalidSignature", (accounts.alice.address,))


def test_register_contribution_for_reverts_when_signature_replayed(ledger, accounts, model: Model):
    deadline, signature = _sign(ledger, accounts.alice)
    _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature)
    # The same signature again, even for fresh content it was not made for, or from another relayer.
    for relayer in (accounts.stranger, accounts.bob):
        with pytest.raises(ContractRevertError) as info:
            _register_for(ledger, relayer, accounts.alice.address, deadline, signature)
        assert revert_of(info) == ("ContributionRegistryInvalidSignature", (accounts.alice.address,))
    assert ledger.registry.functions.nonces(accounts.alice.address).call() == 1


def test_register_contribution_for_reverts_when_nonce_is_not_current(ledger, accounts, model: Model):
    deadline, signature = _sign(ledger, accounts.alice, nonce=1)  # one ahead
    with pytest.raises(ContractRevertError) as info:
        _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature)
    assert revert_of(info) == ("ContributionRegistryInvalidSignature", (accounts.alice.address,))


def test_register_contribution_for_reverts_when_signed_for_another_chain(ledger, accounts, model: Model):
    deadline, signature = _sign(ledger, accounts.alice, chain_id=ledger.chain.chain_id + 1)
    with pytest.raises(ContractRevertError) as info:
        _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature)
    assert revert_of(info) == ("ContributionRegistryInvalidSignature", (accounts.alice.address,))


def test_register_contribution_for_reverts_when_signed_for_another_registry(ledger, accounts, model: Model):
    other = deploy(ledger.chain, "ContributionRegistry", accounts.deployer, accounts.deployer.address)
    deadline, signature = _sign(ledger, accounts.alice, registry=other.address)
    with pytest.raises(ContractRevertError) as info:
        _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature)
    assert revert_of(info) == ("ContributionRegistryInvalidSignature", (accounts.alice.address,))


def test_register_contribution_for_reverts_when_deadline_passed(ledger, accounts, model: Model):
    tester = ledger.chain.w3.provider.ethereum_tester
    now = int(tester.get_block_by_number("pending")["timestamp"]) + 100
    tester.time_travel(now)
    deadline, signature = _sign(ledger, accounts.alice, deadline=now - 1)
    with pytest.raises(ContractRevertError) as info:
        _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature)
    assert revert_of(info) == ("ContributionRegistryExpiredSignature", (now - 1,))


def test_register_contribution_for_accepts_deadline_equal_to_block_time(ledger, accounts, model: Model):
    tester = ledger.chain.w3.provider.ethereum_tester
    _commit(ledger, accounts.alice.address, 1, ContributionKind.DATA, H1)
    now = int(tester.get_block_by_number("pending")["timestamp"]) + 100
    tester.time_travel(now)
    deadline, signature = _sign(ledger, accounts.alice, deadline=now)
    receipt = _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature, commit=False)
    assert ledger.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"] == now


@pytest.mark.parametrize(
    "field", ["uri", "kind", "content_hash", "model_id", "deadline"],
)
def test_register_contribution_for_reverts_when_message_differs_from_signed(ledger, accounts, model: Model, field):
    second, _ = ledger.register_model(accounts.owner, _params_like(ledger))
    deadline, signature = _sign(ledger, accounts.alice, model_id=model.model_id)
    submitted = {"model_id": model.model_id, "kind": ContributionKind.DATA, "content_hash": H1, "uri": "ipfs://c1"}
    changed = {"uri": "ipfs://evil", "kind": ContributionKind.ANNOTATION, "content_hash": H2,
               "model_id": second.model_id, "deadline": deadline + 1}[field]
    if field == "deadline":
        deadline = changed
    else:
        submitted[field] = changed
    with pytest.raises(ContractRevertError) as info:
        _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature, **submitted)
    assert revert_of(info) == ("ContributionRegistryInvalidSignature", (accounts.alice.address,))


def test_register_contribution_for_reverts_when_contributor_swapped(ledger, accounts, model: Model):
    # Alice's signature cannot register the contribution for Bob (or for the zero address).
    deadline, signature = _sign(ledger, accounts.alice)
    for victim in (accounts.bob.address, ZERO_ADDRESS):
        with pytest.raises(ContractRevertError) as info:
            _register_for(ledger, accounts.stranger, victim, deadline, signature)
        assert revert_of(info) == ("ContributionRegistryInvalidSignature", (victim,))


def test_register_contribution_for_reverts_when_model_unknown(ledger, accounts, model: Model):
    deadline, signature = _sign(ledger, accounts.alice, model_id=model.model_id + 1)
    with pytest.raises(ContractRevertError) as info:
        _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature,
                      model_id=model.model_id + 1)
    assert revert_of(info) == ("ContributionRegistryUnknownModel", (model.model_id + 1,))


def test_register_contribution_for_reverts_when_content_already_registered(ledger, accounts, model: Model):
    first, _ = ledger.register_contribution(accounts.bob, model.model_id, ContributionKind.DATA, H1, "b")
    deadline, signature = _sign(ledger, accounts.alice)
    with pytest.raises(ContractRevertError) as info:
        _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature)
    assert revert_of(info) == ("ContributionRegistryDuplicateContent", (model.model_id, H1, first))
    assert ledger.registry.functions.nonces(accounts.alice.address).call() == 0  # the nonce is not burnt


def test_register_contribution_for_accepts_erc1271_wallet(ledger, accounts, model: Model):
    wallet = deploy(ledger.chain, "MockERC1271Wallet", accounts.deployer, accounts.alice.address)
    deadline, signature = _sign(ledger, accounts.alice, contributor=wallet.address)
    receipt = _register_for(ledger, accounts.stranger, wallet.address, deadline, signature)
    (event,) = event_args(ledger.registry, "ContributionRegistered", receipt)
    assert event["contributor"] == wallet.address
    assert ledger.registry.functions.nonces(wallet.address).call() == 1


def test_register_contribution_for_reverts_when_erc1271_wallet_rejects(ledger, accounts, model: Model):
    wallet = deploy(ledger.chain, "MockERC1271Wallet", accounts.deployer, accounts.alice.address)
    deadline, signature = _sign(ledger, accounts.bob, contributor=wallet.address)  # not the wallet's owner
    with pytest.raises(ContractRevertError) as info:
        _register_for(ledger, accounts.stranger, wallet.address, deadline, signature)
    assert revert_of(info) == ("ContributionRegistryInvalidSignature", (wallet.address,))


def test_nonces_start_at_zero_and_ignore_direct_registrations(ledger, accounts, model: Model):
    assert ledger.registry.functions.nonces(accounts.alice.address).call() == 0
    ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H3, "u")
    assert ledger.registry.functions.nonces(accounts.alice.address).call() == 0
    for i, content in enumerate((H1, H2), start=1):
        deadline, signature = _sign(ledger, accounts.alice, content_hash=content)
        _register_for(ledger, accounts.stranger, accounts.alice.address, deadline, signature, content_hash=content)
        assert ledger.registry.functions.nonces(accounts.alice.address).call() == i


# ----- withdrawContribution


def test_withdraw_contribution_marks_withdrawn_and_emits(ledger, accounts, model: Model):
    cid, _ = ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "u")
    receipt = ledger.chain.transact(ledger.registry.functions.withdrawContribution(cid), accounts.alice)
    assert event_args(ledger.registry, "ContributionWithdrawn", receipt) == [
        {"contributionId": cid, "modelId": model.model_id, "contributor": accounts.alice.address}
    ]
    assert ledger.registry.functions.getContribution(cid).call()[3] is True


def test_withdraw_contribution_reverts_when_caller_is_not_contributor(ledger, accounts, model: Model):
    cid, _ = ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "u")
    for caller in (accounts.bob, accounts.owner, accounts.deployer):  # nor the model owner, nor the admin
        with pytest.raises(ContractRevertError) as info:
            ledger.chain.transact(ledger.registry.functions.withdrawContribution(cid), caller)
        assert revert_of(info) == ("ContributionRegistryNotContributor", (cid, caller.address))
    assert ledger.registry.functions.getContribution(cid).call()[3] is False


def test_withdraw_contribution_reverts_when_unknown(ledger, accounts, model: Model):
    for cid in (0, 1):
        with pytest.raises(ContractRevertError) as info:
            ledger.chain.transact(ledger.registry.functions.withdrawContribution(cid), accounts.alice)
        assert revert_of(info) == ("ContributionRegistryUnknownContribution", (cid,))


def test_withdraw_contribution_reverts_when_already_withdrawn(ledger, accounts, model: Model):
    cid, _ = ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "u")
    ledger.chain.transact(ledger.registry.functions.withdrawContribution(cid), accounts.alice)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.withdrawContribution(cid), accounts.alice)
    assert revert_of(info) == ("ContributionRegistryAlreadyWithdrawn", (cid,))


# ----- evaluation-set commitments


EVAL = keccak(text="round 1 evaluation set")


def test_commit_evaluation_stores_the_hash_once_and_emits(ledger, accounts, model: Model):
    assert ledger.evaluation_commitment(model.model_id, 1) == (bytes(32), 0)
    receipt = ledger.commit_evaluation(accounts.owner, model.model_id, 1, EVAL)
    assert event_args(ledger.registry, "EvaluationCommitted", receipt) == [
        {"modelId": model.model_id, "roundId": 1, "evalHash": EVAL}
    ]
    assert ledger.evaluation_commitment(model.model_id, 1) == (EVAL, receipt["blockNumber"])
    assert ledger.evaluation_commitment(model.model_id, 2) == (bytes(32), 0)  # per round


def test_commit_evaluation_reverts_when_committed_again(ledger, accounts, model: Model):
    ledger.commit_evaluation(accounts.owner, model.model_id, 1, EVAL)
    for again in (EVAL, keccak(text="a set chosen after seeing the contributions")):
        with pytest.raises(ContractRevertError) as info:
            ledger.commit_evaluation(accounts.owner, model.model_id, 1, again)
        assert revert_of(info) == ("ContributionRegistryEvaluationAlreadyCommitted", (model.model_id, 1, EVAL))


def test_commit_evaluation_reverts_when_caller_is_not_the_model_owner(ledger, accounts, model: Model):
    for caller in (accounts.alice, accounts.deployer, accounts.oracles[0]):  # nor the admin, nor an oracle
        with pytest.raises(ContractRevertError) as info:
            ledger.commit_evaluation(caller, model.model_id, 1, EVAL)
        assert revert_of(info) == ("ContributionRegistryNotModelOwner", (model.model_id, caller.address))
    assert ledger.evaluation_commitment(model.model_id, 1) == (bytes(32), 0)


def test_commit_evaluation_reverts_on_round_zero_zero_hash_or_unknown_model(ledger, accounts, model: Model):
    for round_id, eval_hash in ((0, EVAL), (1, bytes(32))):
        with pytest.raises(ContractRevertError) as info:
            ledger.commit_evaluation(accounts.owner, model.model_id, round_id, eval_hash)
        assert revert_of(info) == ("ContributionRegistryInvalidEvaluation", (round_id, eval_hash))
    with pytest.raises(ContractRevertError) as info:
        ledger.commit_evaluation(accounts.owner, model.model_id + 1, 1, EVAL)
    assert revert_of(info) == ("ContributionRegistryUnknownModel", (model.model_id + 1,))


def test_reveal_evaluation_emits_where_the_committed_set_is(ledger, accounts, model: Model):
    with pytest.raises(ContractRevertError) as info:
        ledger.reveal_evaluation(accounts.owner, model.model_id, 1, "ipfs://eval-1")
    assert revert_of(info) == ("ContributionRegistryEvaluationNotCommitted", (model.model_id, 1))
    ledger.commit_evaluation(accounts.owner, model.model_id, 1, EVAL)
    with pytest.raises(ContractRevertError) as info:
        ledger.reveal_evaluation(accounts.alice, model.model_id, 1, "ipfs://forged")
    assert revert_of(info) == ("ContributionRegistryNotModelOwner", (model.model_id, accounts.alice.address))
    receipt = ledger.reveal_evaluation(accounts.owner, model.model_id, 1, "ipfs://eval-1")
    assert event_args(ledger.registry, "EvaluationRevealed", receipt) == [
        {"modelId": model.model_id, "roundId": 1, "evalHash": EVAL, "uri": "ipfs://eval-1"}
    ]


# ----- views of unknown ids


def test_get_model_reverts_when_unknown(ledger, model: Model):
    for unknown in (0, model.model_id + 1):
        with pytest.raises(ContractRevertError) as info:
            call(ledger.registry.functions.getModel(unknown))
        assert revert_of(info) == ("ContributionRegistryUnknownModel", (unknown,))


def test_get_contribution_reverts_when_unknown(ledger, accounts, model: Model):
    ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "u")
    for unknown in (0, 2):
        with pytest.raises(ContractRevertError) as info:
            call(ledger.registry.functions.getContribution(unknown))
        assert revert_of(info) == ("ContributionRegistryUnknownContribution", (unknown,))


# ----- payUsage


def _fund_payer(ledger, payer, amount):
    token = ledger.erc20(ledger.dev_payment_token)
    ledger.chain.transact(token.functions.mint(payer.address, amount), payer)
    ledger.chain.transact(token.functions.approve(ledger.registry.address, amount), payer)
    return token


def test_pay_usage_reverts_when_amount_is_zero(ledger, accounts, model: Model):
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.payUsage(model.model_id, 0), accounts.payer)
    assert revert_of(info) == ("ContributionRegistryZeroPayment", ())


def test_pay_usage_reverts_when_model_unknown(ledger, accounts, model: Model):
    _fund_payer(ledger, accounts.payer, 100)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.payUsage(model.model_id + 1, 100), accounts.payer)
    assert revert_of(info) == ("ContributionRegistryUnknownModel", (model.model_id + 1,))


def test_pay_usage_reverts_when_allowance_insufficient(ledger, accounts, model: Model):
    _fund_payer(ledger, accounts.payer, 99)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(ledger.registry.functions.payUsage(model.model_id, 1_000), accounts.payer)
    name, args = revert_of(info)
    assert name == "ERC20InsufficientAllowance"
    assert args[0] == ledger.registry.address and args[1] == 99


@pytest.mark.parametrize(
    ("share_bps", "amount"),
    [(0, 10_001), (1, 9_999), (1, 10_000), (3_000, 3), (3_000, 12_345_678_901), (9_999, 10_001), (MAX_BPS, 7)],
)
def test_pay_usage_splits_by_share_rounding_holders_down(chain, accounts, share_bps, amount):
    setup = stake_setup(chain, accounts.deployer, accounts.owner, share_bps=share_bps)
    setup.give_payment(accounts.payer, amount)
    payment = setup.payment.functions
    holders = (amount * share_bps) // MAX_BPS  # floor: the owner gets the remainder
    receipt = setup.pay(accounts.payer, amount)
    assert event_args(setup.registry, "UsagePaid", receipt) == [{
        "modelId": setup.model_id, "payer": accounts.payer.address, "amount": amount,
        "ownerAmount": amount - holders, "holdersAmount": holders,
    }]
    # The owner's part is credited in the registry (pulled later with withdrawOwnerFees), not sent.
    credited = event_args(setup.registry, "OwnerFeesCredited", receipt)
    assert credited == ([{"modelId": setup.model_id, "owner": accounts.owner.address,
                          "token": setup.payment.address, "amount": amount - holders}] if amount - holders else [])
    assert setup.registry.functions.ownerFees(accounts.owner.address, setup.payment.address).call() == amount - holders
    assert payment.balanceOf(accounts.owner.address).call() == 0
    assert payment.balanceOf(setup.stake.address).call() == holders
    assert payment.balanceOf(accounts.payer.address).call() == 0
    assert payment.balanceOf(setup.registry.address).call() == amount - holders
    # No round is final yet: the holders' part is held for the first round's stake.
    assert setup.stake.functions.heldFees().call() == holders
    held_events = event_args(setup.stake, "FeesHeld", receipt)
    assert held_events == ([{"amount": holders, "heldTotal": holders}] if holders else [])


def test_pay_usage_credits_existing_holders(chain, accounts):
    setup = stake_setup(chain, accounts.deployer, accounts.owner, share_bps=2_500)
    setup.start_fee_period(4 * 10**18)  # a round allocating 4e18 is final
    setup.mint(accounts.alice.address, 3 * 10**18)
    setup.mint(accounts.bob.address, 1 * 10**18)
    setup.give_payment(accounts.payer, 1_000_003)
    receipt = setup.pay(accounts.payer, 1_000_003)
    holders = 1_000_003 * 2_500 // MAX_BPS
    per_share = holders * 10**36 // (4 * 10**18)
    assert event_args(setup.stake, "FeesAccrued", receipt) == [{"amount": holders, "feePerShare": per_share}]
    assert setup.stake.functions.feesOf(accounts.alice.address).call() == 3 * 10**18 * per_share // 10**36
    assert setup.stake.functions.feesOf(accounts.bob.address).call() == 1 * 10**18 * per_share // 10**36


def test_pay_usage_through_wrapper_on_deployed_registry(ledger, accounts, model: Model):
    token = _fund_payer(ledger, accounts.payer, 10_000)
    receipt = ledger.pay_usage(accounts.payer, model.model_id, 10_000)
    (event,) = event_args(ledger.registry, "UsagePaid", receipt)
    assert (event["ownerAmount"], event["holdersAmount"]) == (7_000, 3_000)
    assert token.functions.balanceOf(model.stake_token).call() == 3_000
    assert ledger.stake_token(model.model_id).functions.heldFees().call() == 3_000


def _params_like(ledger):
    from openledger_chain.types import ModelParams

    return ModelParams(
        spec_hash=b"\x77" * 32, spec_uri="ipfs://spec2", payment_token=ledger.dev_payment_token or "",
        contributor_share_bps=1_000, emission_per_round=10, max_emission=100, name="M2", symbol="M2",
    )



# ----- commit-reveal (front-running a registration)


def test_commitment_matches_the_independent_python_computation(ledger, accounts, model: Model):
    on_chain = ledger.registry.functions.contributionCommitment(
        model.model_id, accounts.alice.address, int(ContributionKind.DATA), H1, SALT).call()
    expected = keccak(abi_encode(
        ["uint256", "address", "uint256", "address", "uint8", "bytes32", "bytes32"],
        [ledger.chain.chain_id, ledger.registry.address, model.model_id, accounts.alice.address, 0, H1, SALT]))
    assert on_chain == expected == ledger.commitment(model.model_id, accounts.alice.address, ContributionKind.DATA, H1, SALT)


def test_register_contribution_reverts_without_a_commitment(ledger, accounts, model: Model):
    commitment = ledger.commitment(model.model_id, accounts.alice.address, ContributionKind.DATA, H1, SALT)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(
            ledger.registry.functions.registerContribution(model.model_id, 0, H1, "u", SALT), accounts.alice)
    assert revert_of(info) == ("ContributionRegistryNotCommitted", (commitment, 0))


def test_register_contribution_reverts_when_committed_in_the_same_block(ledger, accounts, model: Model):
    tester = ledger.chain.w3.provider.ethereum_tester
    commitment = ledger.commitment(model.model_id, accounts.alice.address, ContributionKind.DATA, H1, SALT)
    commit = ledger.registry.functions.commitContributions([commitment])
    register = ledger.registry.functions.registerContribution(model.model_id, 0, H1, "u", SALT)
    w3 = ledger.chain.w3
    # Bob posts Alice's commitment (anyone may), Alice registers: both in one block.
    senders = (accounts.bob, accounts.alice)
    txs = [f.build_transaction({"from": who.address, "nonce": w3.eth.get_transaction_count(who.address),
                                "gas": 500_000}) for f, who in zip((commit, register), senders)]
    tester.disable_auto_mine_transactions()
    try:
        hashes = [w3.eth.send_raw_transaction(who.sign_transaction(tx).raw_transaction)
                  for tx, who in zip(txs, senders)]
        tester.mine_blocks(1)
    finally:
        tester.enable_auto_mine_transactions()
    commit_receipt, register_receipt = (w3.eth.get_transaction_receipt(h) for h in hashes)
    assert commit_receipt["blockNumber"] == register_receipt["blockNumber"]
    assert (commit_receipt["status"], register_receipt["status"]) == (1, 0)
    assert ledger.registry.functions.contributionCount().call() == 0


def test_front_runner_cannot_register_a_hash_seen_in_a_pending_registration(ledger, accounts, model: Model):
    """Alice's registration reveals H1 in the mempool; bob copies it. Without a commitment from an earlier
    block his copy reverts, and a commitment he makes now is only usable after Alice's reveal is mined."""
    _commit(ledger, accounts.alice.address, model.model_id, ContributionKind.DATA, H1)
    with pytest.raises(ContractRevertError) as info:
        ledger.chain.transact(
            ledger.registry.functions.registerContribution(model.model_id, 0, H1, "stolen", SALT), accounts.bob)
    assert revert_of(info)[0] == "ContributionRegistryNotCommitted"
    cid, _ = ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "mine", salt=SALT)
    assert ledger.registry.functions.getContribution(cid).call()[1] == accounts.alice.address


def test_commitments_keep_their_first_block_and_are_used_once(ledger, accounts, model: Model):
    commitment = ledger.commitment(model.model_id, accounts.alice.address, ContributionKind.DATA, H1, SALT)
    first = ledger.commit(accounts.alice, [commitment])
    (event,) = event_args(ledger.registry, "ContributionCommitted", first)
    assert event == {"commitment": commitment, "committer": accounts.alice.address}
    again = ledger.commit(accounts.bob, [commitment])  # re-posting changes nothing and does not revert
    assert event_args(ledger.registry, "ContributionCommitted", again) == []
    assert ledger.registry.functions.commitmentBlock(commitment).call() == first["blockNumber"]
    ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "u", salt=SALT)
    assert ledger.registry.functions.commitmentBlock(commitment).call() == 0


def test_register_contribution_checks_model_and_content_before_paying_for_a_commitment(ledger, accounts, model: Model):
    ledger.register_contribution(accounts.alice, model.model_id, ContributionKind.DATA, H1, "u")
    nonce = ledger.chain.w3.eth.get_transaction_count(accounts.bob.address)
    with pytest.raises(ContractRevertError) as info:
        ledger.register_contribution(accounts.bob, model.model_id, ContributionKind.DATA, H1, "u")
    assert revert_of(info) == ("ContributionRegistryDuplicateContent", (model.model_id, H1, 1))
    with pytest.raises(ContractRevertError) as info:
        ledger.register_contribution(accounts.bob, model.model_id + 1, ContributionKind.DATA, H2, "u")
    assert revert_of(info) == ("ContributionRegistryUnknownModel", (model.model_id + 1,))
    assert ledger.chain.w3.eth.get_transaction_count(accounts.bob.address) == nonce  # nothing was sent

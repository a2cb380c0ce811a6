"""Helpers for the registry, stake token and attack tests on the embedded chain.

`StakeSetup` is a second `ContributionRegistry` whose stake minter is a plain test account, so tests
can mint stake without going through the RewardDistributor. Only tests ever do this: the deployed
registry's minter is the distributor, set once at deploy time.

Fees are only shared once a round is final: tests that pay fees to stake holders must first call
`StakeSetup.start_fee_period(fee_supply)` as the minter, as the RewardDistributor does at finality.

`FeeModel` is an independent Python model of the stake token's fee-per-share accumulator (exact
integers, floor rounding), used as the oracle for the fee tests.

`set_erc20_balance` rewrites an OpenZeppelin ERC-20 balance directly in the embedded chain's state, to
model a payment token that shrinks a holder's balance (a rebase or a fee taken from the holder).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_hex_address, keccak, to_canonical_address, to_checksum_address
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from openledger_chain.build import load_artifact
from openledger_chain.chain import Chain
from openledger_chain.errors import ContractRevertError

MAX_BPS = 10_000
FEE_PRECISION = 10**36
EMISSION_PER_ROUND = 1_000 * 10**18
MAX_EMISSION = 1_000_000 * 10**18
ZERO_ADDRESS = "0x" + "00" * 20

# Keys nobody else uses: the test registry's deployer, and the account it names its stake minter.
TEST_MINTER: LocalAccount = Account.from_key(keccak(text="openledger tests: stake minter"))
TEST_DEPLOYER: LocalAccount = Account.from_key(keccak(text="openledger tests: registry deployer"))


def deploy(chain: Chain, name: str, sender: LocalAccount, *args: Any) -> Contract:
    """Deploy the committed artifact `name` and return it as a web3 contract."""
    artifact = load_artifact(name)
    receipt = chain.deploy(artifact.abi, artifact.bytecode, sender, *args)
    return chain.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


def at(chain: Chain, name: str, address: str) -> Contract:
    return chain.w3.eth.contract(address=to_checksum_address(address), abi=load_artifact(name).abi)


def fund(chain: Chain, address: str, wei: int = 10**20) -> None:
    """Give `address` ether from the embedded chain's unlocked coinbase."""
    w3 = chain.w3
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": to_checksum_address(address), "value": wei})
    )


def revert_of(info: pytest.ExceptionInfo[ContractRevertError]) -> tuple[str, tuple[Any, ...]]:
    """`(error name, error args)` of a caught revert, addresses checksummed for comparison."""
    args = tuple(to_checksum_address(a) if _is_address(a) else a for a in info.value.error_args)
    return info.value.name, args


def _is_address(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("0x") and len(value) == 42


def _normalize(value: Any) -> Any:
    if isinstance(value, str) and is_hex_address(value):
        return to_checksum_address(value)
    if isinstance(value, (list, tuple)):
        return tuple(_normalize(v) for v in value)
    return value


@contextmanager
def reverts(name: str, *args: Any) -> Iterator[None]:
    """Expect a revert with custom error `name(*args)` (addresses compared checksummed)."""
    with pytest.raises(ContractRevertError) as info:
        yield
    assert info.value.name == name, f"expected {name}, got {info.value.name}{info.value.error_args}"
    assert _normalize(info.value.error_args) == _normalize(args)


def model_params(
    payment_token: str,
    *,
    share_bps: int = 3_000,
    emission_per_round: int = EMISSION_PER_ROUND,
    max_emission: int = MAX_EMISSION,
    spec_hash: bytes = b"\x5e" * 32,
    spec_uri: str = "ipfs://spec",
    name: str = "Model Stake",
    symbol: str = "MSTK",
) -> tuple[Any, ...]:
    """`IContributionRegistry.ModelParams` as the ABI tuple."""
    return (spec_hash, spec_uri, payment_token, share_bps, emission_per_round, max_emission, name, symbol)


def create2_address(deployer: str, salt: int, init_code: bytes) -> str:
    """EIP-1014: keccak256(0xff ++ deployer ++ salt ++ keccak256(init_code))[12:]."""
    digest = keccak(b"\xff" + bytes.fromhex(deployer[2:]) + salt.to_bytes(32, "big") + keccak(init_code))
    return to_checksum_address(digest[12:])


def stake_token_init_code(name: str, symbol: str, model_id: int, payment_token: str, minter: str) -> bytes:
    """The creation code of a `ModelStakeToken` with its ABI-encoded constructor arguments."""
    bytecode = bytes.fromhex(load_artifact("ModelStakeToken").bytecode[2:])
    args = abi_encode(
        ["string", "string", "uint256", "address", "address"], [name, symbol, model_id, payment_token, minter]
    )
    return bytecode + args


def event_args(contract: Contract, event: str, receipt: TxReceipt) -> list[dict[str, Any]]:
    """The decoded arguments of every `event` of `contract` in `receipt`."""
    logs = getattr(contract.events, event)().process_receipt(receipt, errors=DISCARD)
    return [dict(log["args"]) for log in logs]


@dataclass
class StakeSetup:
    """A registry (admin: deployer) whose stake minter is `TEST_MINTER`, with one model registered."""

    chain: Chain
    registry: Contract
    payment: Contract
    stake: Contract
    model_id: int
    owner: LocalAccount
    minter: LocalAccount = TEST_MINTER

    def mint(self, to: str, amount: int, max_supply: int = MAX_EMISSION) -> TxReceipt:
        return self.chain.transact(self.stake.functions.mint(to, amount, max_supply), self.minter)

    def start_fee_period(self, fee_supply: int) -> TxReceipt:
        """What the distributor does when a round becomes final: fees are now shared over `fee_supply`."""
        return self.chain.transact(self.stake.functions.startFeePeriod(fee_supply), self.minter)

    def give_payment(self, account: LocalAccount, amount: int) -> None:
        """Mint payment tokens to `account` and approve the registry for them."""
        self.chain.transact(self.payment.functions.mint(account.address, amount), account)
        self.chain.transact(self.payment.functions.approve(self.registry.address, 2**256 - 1), account)

    def pay(self, payer: LocalAccount, amount: int) -> TxReceipt:
        return self.chain.transact(self.registry.functions.payUsage(self.model_id, amount), payer)

    def register_model(self, owner: LocalAccount, **params: Any) -> tuple[int, Contract]:
        receipt = self.chain.transact(
            self.registry.functions.registerModel(model_params(self.payment.address, **params)), owner
        )
        (args,) = event_args(self.registry, "ModelRegistered", receipt)
        return int(args["modelId"]), at(self.chain, "ModelStakeToken", args["stakeToken"])


def stake_setup(
    chain: Chain,
    deployer: LocalAccount,
    owner: LocalAccount,
    *,
    payment_token: str = "DevPaymentToken",
    payment_args: tuple[Any, ...] = (),
    share_bps: int = 3_000,
) -> StakeSetup:
    """Deploy a payment token and a test registry with `TEST_MINTER` as stake minter; register a model."""
    fund(chain, TEST_MINTER.address)
    fund(chain, deployer.address)
    payment = deploy(chain, payment_token, deployer, *payment_args)
    registry = deploy(chain, "ContributionRegistry", deployer, deployer.address)
    chain.transact(registry.functions.setStakeMinter(TEST_MINTER.address), deployer)
    setup = StakeSetup(chain, registry, payment, stake=None, model_id=0, owner=owner)  # type: ignore[arg-type]
    setup.model_id, setup.stake = setup.register_model(owner, share_bps=share_bps)
    return setup


@dataclass
class FeeModel:
    """Independent model of the stake token's fee accounting (exact integers, floor rounding).

    Semantics (IModelStakeToken): fees are shared over the *fee supply*, the stake final rounds have
    allocated (claimed or not). A payment to holders adds `amount * P // fee_supply` to the fee-per-share
    accumulator, or is held while the fee supply is zero. `start_fee_period` (a round became final)
    computes what the stake still unclaimed at the end of the period earned and no claim can credit any
    more (`orphaned = (fee_supply - supply) * (acc - claim_start) // P`), records `claim_start := acc`,
    sets the fee supply, then credits the held plus orphaned fees over it. Before any balance moves,
    each account involved is settled (`owed += balance * (acc - checkpoint) // P`, checkpoint := acc).
    A mint credits the new stake what it earned since its round became final: to an account with no
    stake, by starting its checkpoint at `claim_start`; otherwise as `owed += amount * (acc -
    claim_start) // P`.
    """

    per_share: int = 0
    held: int = 0
    supply: int = 0  # minted (claimed) stake
    fee_supply: int = 0
    claim_start: int = 0
    balances: dict[str, int] = field(default_factory=dict)
    checkpoints: dict[str, int] = field(default_factory=dict)
    owed: dict[str, int] = field(default_factory=dict)
    withdrawn: int = 0
    settlements: int = 0  # floor divisions that credit a holder (each may round away < 1 wei)

    def _settle(self, account: str) -> None:
        balance = self.balances.get(account, 0)
        if balance:
            self.settlements += 1
            gained = balance * (self.per_share - self.checkpoints.get(account, 0)) // FEE_PRECISION
            self.owed[account] = self.owed.get(account, 0) + gained
        self.checkpoints[account] = self.per_share

    def pay_holders(self, amount: int) -> int:
        """Credit (or hold) `amount`; returns what was taken. Past what keeps the accumulator within
        uint256 nothing is credited: the rest stays unaccounted in the token, for a later accrual."""
        if amount == 0:
            return 0
        if self.fee_supply == 0:
            self.held += amount
            return amount
        return self._credit(amount)

    def _credit(self, amount: int) -> int:
        fits = (2**256 - 1 - self.per_share) * self.fee_supply // FEE_PRECISION
        credited = min(amount, fits)
        self.per_share += credited * FEE_PRECISION // self.fee_supply
        return credited

    def orphaned(self) -> int:
        """Fees earned this period by stake still unclaimed: recycled when the next period starts."""
        return self.earned_since_final(self.fee_supply - self.supply)

    def start_fee_period(self, fee_supply: int) -> int:
        """Returns the amount credited to the new fee supply (held plus orphaned fees)."""
        assert fee_supply >= self.fee_supply and fee_supply >= self.supply, "the token would revert"
        recycled = self.held + self.orphaned()
        self.claim_start = self.per_share
        self.fee_supply = fee_supply
        if recycled and fee_supply:
            credited = self._credit(recycled)
            self.held = recycled - credited  # what does not fit stays held for the next period
            return credited
        return 0

    def earned_since_final(self, amount: int) -> int:
        """What `amount` of stake claimed now is credited: its fees since the latest final round."""
        return amount * (self.per_share - self.claim_start) // FEE_PRECISION

    def mint(self, to: str, amount: int) -> None:
        fresh = self.balances.get(to, 0) == 0
        self._settle(to)
        self.balances[to] = self.balances.get(to, 0) + amount
        self.supply += amount
        if self.per_share == self.claim_start:
            return
        if fresh:  # nothing else pending: the checkpoint starts at the period start
            self.checkpoints[to] = self.claim_start
        else:
            self.settlements += 1
            self.owed[to] = self.owed.get(to, 0) + self.earned_since_final(amount)

    def transfer(self, sender: str, to: str, amount: int) -> None:
        self._settle(sender)
        if to != sender:
            self._settle(to)
        self.balances[sender] -= amount
        self.balances[to] = self.balances.get(to, 0) + amount

    def withdraw(self, account: str) -> int:
        self._settle(account)
        amount = self.owed.get(account, 0)
        self.owed[account] = 0
        self.withdrawn += amount
        return amount

    def fees_of(self, account: str) -> int:
        pending = self.balances.get(account, 0) * (self.per_share - self.checkpoints.get(account, 0)) // FEE_PRECISION
        return self.owed.get(account, 0) + pending


def erc20_balance_slot(account: str, mapping_slot: int = 0) -> int:
    """Storage slot of `_balances[account]` in an OpenZeppelin 5 `ERC20` (the mapping is slot 0)."""
    return int.from_bytes(keccak(abi_encode(["address", "uint256"], [account, mapping_slot])), "big")


def set_erc20_balance(chain: Chain, token: Contract, account: str, value: int) -> None:
    """Overwrite `token.balanceOf(account)` in the embedded chain's state and mine a block with it.

    Only the balance changes (not `totalSupply`), like a token that takes a fee from, or rebases, a
    holder. Rolled back with the test's snapshot like any other state change."""
    tester = chain.w3.provider.ethereum_tester
    evm_chain = tester.backend.chain
    state = evm_chain.get_vm().state
    state.set_storage(to_canonical_address(token.address), erc20_balance_slot(account), value)
    state.persist()
    evm_chain.header = evm_chain.header.copy(state_root=state.state_root)
    tester.mine_blocks(1)
    assert int(token.functions.balanceOf(account).call()) == value, "not an OpenZeppelin ERC20 balance slot"


def call(function: Any, sender: str | None = None) -> Any:
    """`function.call()`, with a revert decoded into `ContractRevertError` like `Chain.transact` does."""
    from openledger_chain.chain import decode_revert

    try:
        return function.call({"from": sender} if sender else {})
    except Exception as exc:  # noqa: BLE001 - web3 raises several types for a revert
        raise decode_revert(exc) from exc


@pytest.fixture(scope="session")
def stake_base(_deployed: Any, accounts: Any) -> StakeSetup:
    """A test registry (minter: `TEST_MINTER`) and one model owned by `accounts.owner`, deployed once
    per session by `TEST_DEPLOYER` before the per-test snapshot, so each test starts from it."""
    chain, _ = _deployed
    return stake_setup(chain, TEST_DEPLOYER, accounts.owner)


@pytest.fixture
def stake(ledger: Any, stake_base: StakeSetup) -> StakeSetup:
    """`stake_base` inside the test's snapshot (everything the test does is rolled back)."""
    return stake_base

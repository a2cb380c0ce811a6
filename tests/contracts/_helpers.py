"""Helpers for the registry, stake token and attack tests on the embedded chain.

`StakeSetup` is a second `ContributionRegistry` whose stake minter is a plain test account, so tests
can mint stake without going through the RewardDistributor. Only tests ever do this: the deployed
registry's minter is the distributor, set once at deploy time.

`FeeModel` is an independent Python model of the stake token's fee-per-share accumulator (exact
integers, floor rounding), used as the oracle for the fee tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
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

    Semantics (DESIGN.md, Contracts): a payment to holders adds `amount * P // supply` to the
    fee-per-share accumulator; before any balance moves, each account involved is settled
    (`owed += balance * (acc - checkpoint) // P`, checkpoint := acc); fees paid while the supply
    is zero are held and credited to the first mint.
    """

    per_share: int = 0
    held: int = 0
    supply: int = 0
    balances: dict[str, int] = field(default_factory=dict)
    checkpoints: dict[str, int] = field(default_factory=dict)
    owed: dict[str, int] = field(default_factory=dict)
    withdrawn: int = 0
    settlements: int = 0  # settlements of a non-zero balance (each may round away < 1 wei)

    def _settle(self, account: str) -> None:
        balance = self.balances.get(account, 0)
        if balance:
            self.settlements += 1
            gained = balance * (self.per_share - self.checkpoints.get(account, 0)) // FEE_PRECISION
            self.owed[account] = self.owed.get(account, 0) + gained
        self.checkpoints[account] = self.per_share

    def pay_holders(self, amount: int) -> None:
        if amount == 0:
            return
        if self.supply == 0:
            self.held += amount
        else:
            self.per_share += amount * FEE_PRECISION // self.supply

    def mint(self, to: str, amount: int) -> None:
        self._settle(to)
        first = self.supply == 0 and amount > 0
        self.balances[to] = self.balances.get(to, 0) + amount
        self.supply += amount
        if first and self.held:
            self.per_share += self.held * FEE_PRECISION // amount
            self.held = 0

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

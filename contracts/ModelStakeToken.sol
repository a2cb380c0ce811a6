// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IModelStakeToken} from "./interfaces/IModelStakeToken.sol";

/// @title ModelStakeToken
/// @notice The stake in one model: an ERC-20 (with EIP-2612 permit) that also pays its holders the
/// stake holders' share of the model's usage fees.
/// @dev Fees use a fee-per-share accumulator over the *fee supply*: all stake that final rounds
/// have allocated, claimed or not. A payment adds `amount * FEE_PRECISION / feeSupply` to
/// {feePerShare}, and every balance change first settles the accounts involved, so a payment costs
/// O(1) gas however many holders there are. Stake earns from the moment its round is final, not
/// from when it is claimed: a claim credits the new stake with the fees paid since the latest
/// final round, so claiming early or late within a period earns the same. Fees earned by stake
/// still unclaimed when the next round becomes final are recycled to all stake (never locked).
/// Fees received while no round is final are held and go to the first round's stake pro rata.
/// Rounding is always down, against the holder; the dust stays in the contract.
/// No balance can brick fee intake: products go through `Math.mulDiv` (512-bit intermediates), and
/// a payment so large that {feePerShare} would overflow is credited only up to what still fits (the
/// rest stays in the contract, uncredited), so `payUsage` and finality never revert on size (audit L-1).
contract ModelStakeToken is IModelStakeToken, ERC20, ERC20Permit, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /* CONSTANTS AND IMMUTABLES */

    /// @notice Scale of {feePerShare}.
    uint256 public constant FEE_PRECISION = 1e36;

    /// @inheritdoc IModelStakeToken
    uint256 public immutable modelId;
    /// @inheritdoc IModelStakeToken
    IERC20 public immutable paymentToken;
    /// @inheritdoc IModelStakeToken
    address public immutable minter;
    /// @dev The registry that deployed this token: stake sent there could never withdraw its fees (N-6).
    address private immutable _deployer;

    /* STORAGE */

    uint256 private _feePerShare;
    uint256 private _feeSupply;
    /// @dev {feePerShare} when the latest round became final: where newly claimed stake starts earning.
    uint256 private _claimStartFeePerShare;
    uint256 private _heldFees;
    /// @dev Payment-token balance already credited (held, owed or still in accounts' pending fees).
    uint256 private _accountedFees;
    mapping(address account => uint256) private _feeCheckpoint;
    mapping(address account => uint256) private _owedFees;

    /* CONSTRUCTOR */

    constructor(string memory name_, string memory symbol_, uint256 modelId_, IERC20 paymentToken_, address minter_)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        modelId = modelId_;
        paymentToken = paymentToken_;
        minter = minter_;
        _deployer = msg.sender;
    }

    /* VIEWS */

    /// @inheritdoc IModelStakeToken
    function feePerShare() external view returns (uint256) {
        return _feePerShare;
    }

    /// @inheritdoc IModelStakeToken
    function feeSupply() external view returns (uint256) {
        return _feeSupply;
    }

    /// @inheritdoc IModelStakeToken
    function claimStartFeePerShare() external view returns (uint256) {
        return _claimStartFeePerShare;
    }

    /// @inheritdoc IModelStakeToken
    function heldFees() external view returns (uint256) {
        return _heldFees;
    }

    /// @inheritdoc IModelStakeToken
    function feesOf(address account) public view returns (uint256) {
        return _owedFees[account] + _pendingFeesDown(account, _feePerShare);
    }

    /* EXTERNAL */

    /// @inheritdoc IModelStakeToken
    function mint(address to, uint256 amount, uint256 maxSupply) external {
        _requireMinter();
        bool fresh = balanceOf(to) == 0;
        _mint(to, amount);
        uint256 supply = totalSupply();
        if (supply > maxSupply) revert ModelStakeTokenSupplyCapExceeded(supply, maxSupply);
        // The new stake has been in the fee supply since its round became final: credit what it earned.
        uint256 perShare = _feePerShare;
        if (perShare == 0) return; // no fee ever paid (skips a cold read on the common path)
        uint256 start = _claimStartFeePerShare;
        if (perShare == start) return;
        if (fresh) {
            // Nothing else was pending: starting the checkpoint at the period start credits exactly
            // that, without writing a separate owed-fees slot.
            _feeCheckpoint[to] = start;
        } else {
            _owedFees[to] += Math.mulDiv(amount, perShare - start, FEE_PRECISION);
        }
    }

    /// @inheritdoc IModelStakeToken
    function startFeePeriod(uint256 newFeeSupply) external {
        _requireMinter();
        uint256 previous = _feeSupply;
        uint256 supply = totalSupply();
        if (newFeeSupply < previous || newFeeSupply < supply) {
            revert ModelStakeTokenInvalidFeeSupply(newFeeSupply, previous);
        }
        uint256 perShare = _feePerShare;
        // Stake still unclaimed when this period ends earned fees no claim can credit any more (claims
        // credit from the latest period start): hand them, like held fees, to all stake from now on.
        // The distributor caps the supply at the fee supply; another minter may have minted beyond it.
        uint256 unclaimed = previous > supply ? previous - supply : 0;
        uint256 orphaned = Math.mulDiv(unclaimed, perShare - _claimStartFeePerShare, FEE_PRECISION);
        _claimStartFeePerShare = perShare;
        _feeSupply = newFeeSupply;
        emit FeePeriodStarted(newFeeSupply, perShare);
        // Fees paid before any round was final belong to the first round's stake holders.
        uint256 recycled = _heldFees + orphaned;
        if (recycled != 0 && newFeeSupply != 0) {
            // Whatever does not fit in the accumulator stays held for the next period.
            _heldFees = recycled - _creditFees(recycled, newFeeSupply);
        }
    }

    /// @inheritdoc IModelStakeToken
    function accrueFees() external nonReentrant returns (uint256 amount) {
        uint256 balance = paymentToken.balanceOf(address(this));
        uint256 accounted = _accountedFees;
        // A token that shrank our balance (fee or rebase) must not brick fee intake: credit nothing.
        if (balance <= accounted) return 0;
        amount = balance - accounted;
        uint256 supply = _feeSupply;
        if (supply == 0) {
            uint256 held = _heldFees + amount;
            _heldFees = held;
            emit FeesHeld(amount, held);
        } else {
            amount = _creditFees(amount, supply);
        }
        _accountedFees = accounted + amount;
    }

    /// @inheritdoc IModelStakeToken
    function withdrawFees() external nonReentrant returns (uint256 amount) {
        _settleFees(msg.sender, _feePerShare);
        uint256 owed = _owedFees[msg.sender];
        if (owed == 0) revert ModelStakeTokenNoFees(msg.sender);
        // A payment token that shrank our balance (rebase, fee, blacklist seizure) must not lock the
        // last holders out: pay what is here, the rest stays owed (audit L-4).
        uint256 available = paymentToken.balanceOf(address(this));
        amount = Math.min(owed, available);
        if (amount == 0) revert ModelStakeTokenNoFeesAvailable(msg.sender, owed);
        uint256 remaining = owed - amount;
        _owedFees[msg.sender] = remaining;
        _accountedFees -= amount;
        emit FeesWithdrawn(msg.sender, amount, remaining);
        paymentToken.safeTransfer(msg.sender, amount);
    }

    /* INTERNAL */

    /// @dev Settles the fees of both accounts at the current accumulator before any balance moves.
    function _update(address from, address to, uint256 value) internal override {
        // Stake sent to the token itself, its minter (the distributor) or the registry that deployed it could
        // never withdraw its fees (audit I-2, issue 24 N-6): none of them calls withdrawFees.
        if (to == address(this) || to == minter || to == _deployer) revert ERC20InvalidReceiver(to);
        uint256 perShare = _feePerShare;
        if (perShare != 0) {
            if (from != address(0)) _settleFees(from, perShare);
            if (to != address(0) && to != from) _settleFees(to, perShare);
        }
        super._update(from, to, value);
    }

    function _requireMinter() private view {
        if (msg.sender != minter) revert ModelStakeTokenUnauthorizedMinter(msg.sender);
    }

    /// @dev Credits `amount` to `supply` stake, or as much of it as keeps {feePerShare} in range, and
    /// returns what it credited. `supply` is at most a model's uint96 emission, far below FEE_PRECISION,
    /// so `fits` cannot overflow and `fits * FEE_PRECISION / supply` never exceeds the room left.
    function _creditFees(uint256 amount, uint256 supply) private returns (uint256 credited) {
        uint256 perShare = _feePerShare;
        uint256 fits = Math.mulDiv(type(uint256).max - perShare, supply, FEE_PRECISION);
        credited = Math.min(amount, fits);
        if (credited == 0) return 0;
        perShare += Math.mulDiv(credited, FEE_PRECISION, supply);
        _feePerShare = perShare;
        emit FeesAccrued(credited, perShare);
    }

    function _settleFees(address account, uint256 perShare) private {
        if (balanceOf(account) != 0) {
            uint256 pending = _pendingFeesDown(account, perShare);
            if (pending != 0) _owedFees[account] += pending;
        }
        if (_feeCheckpoint[account] != perShare) _feeCheckpoint[account] = perShare;
    }

    function _pendingFeesDown(address account, uint256 perShare) private view returns (uint256) {
        return Math.mulDiv(balanceOf(account), perShare - _feeCheckpoint[account], FEE_PRECISION);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IModelStakeToken
/// @notice The ERC-20 stake in one model. Holders earn the stake holders' share of the model's usage
/// fees, pro rata to their balance at the time each fee was paid.
interface IModelStakeToken is IERC20 {
    /* EVENTS */

    /// @notice Emitted when usage fees are credited to the holders; `feePerShare` is the new accumulator.
    event FeesAccrued(uint256 amount, uint256 feePerShare);

    /// @notice Emitted when a round becomes final: `feeSupply` stake now earns fees, and stake claimed
    /// from now on earns from `claimStartFeePerShare`.
    event FeePeriodStarted(uint256 feeSupply, uint256 claimStartFeePerShare);

    /// @notice Emitted when fees arrive while no round is final; they go to the first round's holders.
    event FeesHeld(uint256 amount, uint256 heldTotal);

    /// @notice Emitted when `account` withdraws `amount` of its accrued fees; `remaining` is still owed
    /// (non-zero only when the contract held less than was owed).
    event FeesWithdrawn(address indexed account, uint256 amount, uint256 remaining);

    /* ERRORS */

    /// @notice Thrown when `caller` tries to mint but is not the token's minter.
    error ModelStakeTokenUnauthorizedMinter(address caller);

    /// @notice Thrown when a mint would take the supply to `supply`, above the minter's stated `maxSupply`.
    error ModelStakeTokenSupplyCapExceeded(uint256 supply, uint256 maxSupply);

    /// @notice Thrown when a new fee supply is below the previous one or below the minted supply.
    error ModelStakeTokenInvalidFeeSupply(uint256 feeSupply, uint256 previousFeeSupply);

    /// @notice Thrown when `account` withdraws fees but has none.
    error ModelStakeTokenNoFees(address account);

    /// @notice Thrown when `account` is owed `owed` in fees but the contract holds none of the payment token.
    error ModelStakeTokenNoFeesAvailable(address account, uint256 owed);

    /* VIEWS */

    /// @notice The model this token is the stake of.
    function modelId() external view returns (uint256);

    /// @notice The ERC-20 in which usage fees are paid.
    function paymentToken() external view returns (IERC20);

    /// @notice The only address allowed to mint (the reward distributor).
    function minter() external view returns (address);

    /// @notice Fees accumulated per unit of stake, scaled by {FEE_PRECISION}.
    function feePerShare() external view returns (uint256);

    /// @notice Stake that earns fees: everything final rounds allocated, claimed or not.
    function feeSupply() external view returns (uint256);

    /// @notice {feePerShare} when the latest round became final; newly claimed stake earns from there.
    function claimStartFeePerShare() external view returns (uint256);

    /// @notice Fees that arrived while no round was final, waiting for the first round's holders.
    function heldFees() external view returns (uint256);

    /// @notice Fees `account` can withdraw now (rounded down).
    function feesOf(address account) external view returns (uint256);

    /* ACTIONS */

    /// @notice Mints claimed stake `amount` to `to`, provided the total supply stays at or below
    /// `maxSupply`, and credits it the fees paid since the latest round became final.
    /// @dev Requirements: the caller is {minter}. Emits a {Transfer} event.
    function mint(address to, uint256 amount, uint256 maxSupply) external;

    /// @notice Called when a round becomes final: from now on fees are shared over `newFeeSupply`
    /// (the cumulative emission), and held fees go to that stake.
    /// @dev Requirements: the caller is {minter}; `newFeeSupply` never decreases and covers the
    /// minted supply. Emits {FeePeriodStarted}.
    function startFeePeriod(uint256 newFeeSupply) external;

    /// @notice Credits every payment token received since the last accrual to the stake (or holds
    /// it while no round is final). Anyone may call it; paying fees is a transfer followed by this.
    /// @return amount The newly credited amount.
    function accrueFees() external returns (uint256 amount);

    /// @notice Sends the caller its accrued fees, or as much of them as the contract holds (the rest stays owed).
    /// @dev Emits a {FeesWithdrawn} event.
    function withdrawFees() external returns (uint256 amount);
}

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

    /// @notice Emitted when fees arrive while no stake exists; they go to the first holders.
    event FeesHeld(uint256 amount, uint256 heldTotal);

    /// @notice Emitted when `account` withdraws `amount` of its accrued fees.
    event FeesWithdrawn(address indexed account, uint256 amount);

    /* ERRORS */

    /// @notice Thrown when `caller` tries to mint but is not the token's minter.
    error ModelStakeTokenUnauthorizedMinter(address caller);

    /// @notice Thrown when a mint would take the supply to `supply`, above the minter's stated `maxSupply`.
    error ModelStakeTokenSupplyCapExceeded(uint256 supply, uint256 maxSupply);

    /// @notice Thrown when `account` withdraws fees but has none.
    error ModelStakeTokenNoFees(address account);

    /* VIEWS */

    /// @notice The model this token is the stake of.
    function modelId() external view returns (uint256);

    /// @notice The ERC-20 in which usage fees are paid.
    function paymentToken() external view returns (IERC20);

    /// @notice The only address allowed to mint (the reward distributor).
    function minter() external view returns (address);

    /// @notice Fees accumulated per unit of stake, scaled by {FEE_PRECISION}.
    function feePerShare() external view returns (uint256);

    /// @notice Fees that arrived while the supply was zero, waiting for the first holders.
    function heldFees() external view returns (uint256);

    /// @notice Fees `account` can withdraw now (rounded down).
    function feesOf(address account) external view returns (uint256);

    /* ACTIONS */

    /// @notice Mints `amount` to `to`, provided the total supply stays at or below `maxSupply`.
    /// @dev Requirements: the caller is {minter}. Emits a {Transfer} event.
    function mint(address to, uint256 amount, uint256 maxSupply) external;

    /// @notice Credits every payment token received since the last accrual to the holders (or holds
    /// it while the supply is zero). Anyone may call it; paying fees is a transfer followed by this.
    /// @return amount The newly credited amount.
    function accrueFees() external returns (uint256 amount);

    /// @notice Sends the caller all of its accrued fees.
    /// @dev Emits a {FeesWithdrawn} event.
    function withdrawFees() external returns (uint256 amount);
}

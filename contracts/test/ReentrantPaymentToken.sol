// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ReentrantPaymentToken
/// @notice TEST ONLY. A freely mintable payment token that, once armed, calls back into a target
/// contract (the registry's `payUsage`, the stake token's `withdrawFees` or `accrueFees`) from the
/// middle of its own `transfer`/`transferFrom`, as a malicious or hook-bearing token would.
/// @dev The callback is made by this token contract itself (so `msg.sender` of the reentrant call
/// is this token). It fires once per arming, either before or after the balances move. With
/// `bubble` set, a failed callback reverts the whole transfer with the callee's revert data; without
/// it, the revert data is recorded in {lastCallbackError} and the transfer goes on.
contract ReentrantPaymentToken is ERC20 {
    address public callbackTarget;
    bytes public callbackData;
    bool public callbackBeforeMove;
    bool public bubble;
    bool public armed;

    uint256 public callbackCount;
    bool public lastCallbackSucceeded;
    bytes public lastCallbackError;

    constructor() ERC20("Reentrant USD", "rUSD") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the token: the next `transfer`/`transferFrom` calls `target` with `data`.
    function arm(address target, bytes calldata data, bool beforeMove, bool bubble_) external {
        callbackTarget = target;
        callbackData = data;
        callbackBeforeMove = beforeMove;
        bubble = bubble_;
        armed = true;
    }

    /// @notice Lets this token approve `spender` for itself (to pay usage fees as an attacker).
    function approveFromSelf(address spender, uint256 amount) external {
        _approve(address(this), spender, amount);
    }

    /// @notice Calls `target` as this token (e.g. to withdraw the fees of stake it holds), bubbling reverts.
    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        bool success;
        (success, result) = target.call(data);
        if (!success) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (callbackBeforeMove) _callback();
        bool ok = super.transfer(to, value);
        if (!callbackBeforeMove) _callback();
        return ok;
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (callbackBeforeMove) _callback();
        bool ok = super.transferFrom(from, to, value);
        if (!callbackBeforeMove) _callback();
        return ok;
    }

    function _callback() private {
        if (!armed) return;
        armed = false;
        ++callbackCount;
        (bool success, bytes memory result) = callbackTarget.call(callbackData);
        lastCallbackSucceeded = success;
        if (!success) {
            lastCallbackError = result;
            if (bubble) {
                assembly ("memory-safe") {
                    revert(add(result, 0x20), mload(result))
                }
            }
        }
    }
}

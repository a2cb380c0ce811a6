// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title DevPaymentToken
/// @notice A payment token for local chains, tests and the demo: anyone may mint it. It has EIP-2612 permits, so a
/// contributor can sign its bond's approval for a relayer to send (a token without them works with an `approve`).
/// @dev Never deploy it to a public network; the deploy command only does so on local chains.
contract DevPaymentToken is ERC20, ERC20Permit {
    constructor() ERC20("OpenLedger Dev USD", "oUSD") ERC20Permit("OpenLedger Dev USD") {}

    /// @notice Mints `amount` to `to`; a faucet for development.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

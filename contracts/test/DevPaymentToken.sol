// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DevPaymentToken
/// @notice A payment token for local chains, tests and the demo: anyone may mint it.
/// @dev Never deploy it to a public network; the deploy command only does so on local chains.
contract DevPaymentToken is ERC20 {
    constructor() ERC20("OpenLedger Dev USD", "oUSD") {}

    /// @notice Mints `amount` to `to`; a faucet for development.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title BlacklistPaymentToken
/// @notice TEST ONLY. A freely mintable payment token with a blacklist, as USDC and USDT have: no transfer
/// to or from a blacklisted account. The deployer keeps the list.
contract BlacklistPaymentToken is ERC20 {
    address public immutable blacklister;
    mapping(address account => bool) public isBlacklisted;

    error BlacklistPaymentTokenBlacklisted(address account);

    constructor() ERC20("Blacklist USD", "bUSD") {
        blacklister = msg.sender;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlacklisted(address account, bool blacklisted) external {
        require(msg.sender == blacklister, "not the blacklister");
        isBlacklisted[account] = blacklisted;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (isBlacklisted[from]) revert BlacklistPaymentTokenBlacklisted(from);
        if (isBlacklisted[to]) revert BlacklistPaymentTokenBlacklisted(to);
        super._update(from, to, value);
    }
}

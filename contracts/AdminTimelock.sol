// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title AdminTimelock
/// @notice The RewardDistributor's admin: OpenZeppelin's TimelockController, unchanged. Every change of
/// oracles, threshold, challenge window or roles is scheduled in public and runs only after `minDelay`,
/// which `openledger deploy` sets longer than the challenge window, so no admin key can rewrite a round
/// before holders and the guardian see it coming (audit M-2).
contract AdminTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {}
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRewardDistributor
/// @notice Turns attribution rounds into stake. Oracles sign a round (EIP-712, k of n); after a
/// challenge window in which a guardian may veto it, and once its full score list is published
/// on-chain, anyone finalizes it; contributors then claim their cumulative stake with a Merkle proof.
interface IRewardDistributor {
    /* TYPES */

    /// @notice An attribution round, as signed by the oracles (EIP-712 typed data).
    /// @param merkleRoot Root of the OpenZeppelin StandardMerkleTree of `(address account, uint256 cumulativeAmount)`.
    /// @param emission Stake minted by this round. @param cumulativeEmission All rounds' emission so far.
    /// @param scoresHash Running hash of the round's full score list (see {publishScores}).
    /// @param methodHash Hash of the attribution method manifest. @param roundFileHash Hash of the round file.
    /// @param deadline Unix time after which the signed round can no longer be submitted: a draft the oracles
    /// signed and then replaced expires instead of staying submittable by anyone forever (round file version 3).
    /// @param bondsRoot Root of the OpenZeppelin StandardMerkleTree of the bond decisions this round makes,
    /// leaves `(uint256 contributionId, uint8 decision)` (1 released, 2 forfeited; see
    /// {IContributionRegistry-applyBondDecisions}); zero when the round decides no bond (issue 23).
    struct Round {
        uint256 modelId;
        uint256 roundId;
        bytes32 merkleRoot;
        uint256 emission;
        uint256 cumulativeEmission;
        bytes32 scoresHash;
        bytes32 methodHash;
        bytes32 roundFileHash;
        uint256 deadline;
        bytes32 bondsRoot;
    }

    /// @notice One contributor's line of a round's score list: its score (the toolkit posts its share of the
    /// round's emission in 1e18 fixed point, so amounts can be recomputed from the list) and the stake allocated.
    struct ScoreEntry {
        address account;
        int256 score;
        uint256 amount;
    }

    /// @notice One claim of {claimMany}.
    struct ClaimInput {
        uint256 modelId;
        address account;
        uint256 cumulativeAmount;
        bytes32[] proof;
    }

    /// @param scoresPublisher The oracle whose score list completed the round; zero while none has.
    struct PendingRound {
        bytes32 merkleRoot;
        bytes32 scoresHash;
        bytes32 digest;
        uint96 emission;
        uint96 cumulativeEmission;
        uint64 roundId;
        uint40 challengeEndsAt;
        address submitter;
        address scoresPublisher;
        uint40 pausedSecondsAtStart;
    }

    /// @notice One oracle's score list of a pending round, as published so far (see {publishScores}).
    /// @param runningHash Running hash of the entries. @param amount Their amounts' sum.
    /// @param lastAccount The last entry's account. @param count Entries.
    /// @param digest The round submission it belongs to (a vetoed round's successor has the same id, not digest).
    struct ScoreList {
        bytes32 runningHash;
        address lastAccount;
        uint96 amount;
        bytes32 digest;
        uint32 count;
    }

    /* EVENTS */

    event OracleAdded(address indexed oracle);
    event OracleRemoved(address indexed oracle);
    event ThresholdSet(uint256 threshold);
    event ChallengeWindowSet(uint256 challengeWindow);

    /// @notice Emitted when a signed round is accepted and its challenge window opens.
    event RoundSubmitted(
        uint256 indexed modelId,
        uint256 indexed roundId,
        bytes32 merkleRoot,
        uint256 emission,
        uint256 cumulativeEmission,
        bytes32 scoresHash,
        bytes32 methodHash,
        bytes32 roundFileHash,
        uint256 deadline,
        address submitter,
        address[] signers
    );

    /// @notice Emitted with {RoundSubmitted} when the submitted round decides bonds (its `bondsRoot` is not zero).
    event BondsRootSubmitted(uint256 indexed modelId, uint256 indexed roundId, bytes32 bondsRoot);

    /// @notice Emitted with {RoundFinalized} when the final round decides bonds: from now on
    /// {bondsRoot}(modelId, roundId) returns `bondsRoot`, and the registry applies its decisions.
    event BondsRootFinalized(uint256 indexed modelId, uint256 indexed roundId, bytes32 bondsRoot);

    /// @notice Emitted for each chunk `publisher` adds to its score list of a round, starting at entry `firstIndex`.
    /// (Not named `entries`: that collides with ethers v6 `Result.entries`.)
    event ScoresPublished(
        uint256 indexed modelId,
        uint256 indexed roundId,
        address indexed publisher,
        uint256 firstIndex,
        ScoreEntry[] scores,
        bytes32 runningHash
    );

    /// @notice Emitted when `publisher`'s score list matches the round; the round can be final at `challengeEndsAt`.
    event ScoresCompleted(uint256 indexed modelId, uint256 indexed roundId, address publisher, uint256 challengeEndsAt);

    /// @notice Emitted when an oracle clears its own score list of a pending round.
    event ScoresReset(uint256 indexed modelId, uint256 indexed roundId, address oracle);

    /// @notice Emitted when a guardian vetoes a pending round; the same signed round can never return.
    event RoundVetoed(uint256 indexed modelId, uint256 indexed roundId, bytes32 digest, address guardian);

    /// @notice Emitted when a round becomes final and its root claimable.
    event RoundFinalized(uint256 indexed modelId, uint256 indexed roundId, bytes32 merkleRoot, uint256 cumulativeEmission);

    /// @notice Emitted when `amount` of stake is minted to `account`, bringing it to `cumulativeAmount`.
    event Claimed(uint256 indexed modelId, address indexed account, uint256 amount, uint256 cumulativeAmount);

    /* ERRORS */

    error RewardDistributorZeroAddress();
    /// @notice Thrown when `oracle` is already in the oracle set.
    error RewardDistributorOracleAlreadyAdded(address oracle);
    /// @notice Thrown when `account` is not in the oracle set.
    error RewardDistributorNotOracle(address account);
    /// @notice Thrown when a threshold is zero, above the oracle count, or unchanged.
    error RewardDistributorInvalidThreshold(uint256 threshold, uint256 oracleCount);
    /// @notice Thrown when the guardian would be the admin: the veto must not be in the admin's hands.
    error RewardDistributorGuardianIsAdmin(address guardian);
    /// @notice Thrown when a challenge window is below the minimum, above the maximum, or unchanged.
    error RewardDistributorInvalidChallengeWindow(uint256 challengeWindow);
    /// @notice Thrown when `modelId` already has `pendingRoundId` waiting.
    error RewardDistributorRoundPending(uint256 modelId, uint256 pendingRoundId);
    /// @notice Thrown when a round's id is not the model's next one.
    error RewardDistributorUnexpectedRoundId(uint256 modelId, uint256 expected, uint256 roundId);
    /// @notice Thrown when `cumulativeEmission` is not the previous cumulative emission plus `emission`.
    error RewardDistributorCumulativeMismatch(uint256 expected, uint256 cumulativeEmission);
    /// @notice Thrown when a round mints more than the model's emission policy allows.
    error RewardDistributorEmissionOverPolicy(uint256 emission, uint256 cumulativeEmission);
    /// @notice Thrown when a round's Merkle root is zero.
    error RewardDistributorZeroRoot();
    /// @notice Thrown when a round that mints nothing would change the model's claimable root (`currentRoot`,
    /// zero before the first final round): with no new stake, a new tree could only move stake between
    /// accounts (issue 24, N-4).
    error RewardDistributorZeroEmissionRootChanged(uint256 modelId, bytes32 currentRoot, bytes32 merkleRoot);
    /// @notice Thrown when the model's owner has not committed round `roundId`'s evaluation set on the registry
    /// ({IContributionRegistry-commitEvaluation}): no round is valued on a set the owner did not fix first.
    error RewardDistributorEvaluationNotCommitted(uint256 modelId, uint256 roundId);
    /// @notice Thrown when a signed round is submitted after its `deadline` (at `timestamp`).
    error RewardDistributorRoundExpired(uint256 deadline, uint256 timestamp);
    /// @notice Thrown when signers are not strictly ascending (which also rejects duplicates).
    error RewardDistributorSignersNotAscending(address previous, address signer);
    /// @notice Thrown when fewer than `threshold` oracles signed.
    error RewardDistributorInsufficientSignatures(uint256 count, uint256 threshold);
    /// @notice Thrown when a round with this digest was vetoed before.
    error RewardDistributorRoundWasVetoed(bytes32 digest);
    /// @notice Thrown when `modelId` has no pending round, or its pending round is not `roundId`.
    error RewardDistributorNoPendingRound(uint256 modelId, uint256 roundId);
    /// @notice Thrown when `caller` publishes or resets scores but is not an oracle.
    error RewardDistributorUnauthorizedPublisher(address caller);
    /// @notice Thrown when score entries are not in strictly ascending account order.
    error RewardDistributorScoresNotAscending(address previous, address account);
    /// @notice Thrown when publishing to or resetting a score list that already matches the round.
    error RewardDistributorScoresAlreadyComplete(uint256 modelId, uint256 roundId);
    /// @notice Thrown when a score chunk holds no entry.
    error RewardDistributorEmptyScoreChunk(uint256 modelId, uint256 roundId);
    /// @notice Thrown when finalizing before the challenge window ends at `endsAt`.
    error RewardDistributorChallengeWindowOpen(uint256 endsAt);
    /// @notice Thrown when vetoing after the challenge window ended at `endedAt`.
    error RewardDistributorChallengeWindowClosed(uint256 endedAt);
    /// @notice Thrown when finalizing before any oracle's score list matches the round.
    error RewardDistributorScoresIncomplete(uint256 modelId, uint256 roundId);
    /// @notice Thrown when a score list's amounts would exceed the round's emission.
    error RewardDistributorScoresAmountMismatch(uint256 publishedAmount, uint256 emission);
    /// @notice Thrown when claiming on a model with no finalized round.
    error RewardDistributorNoFinalizedRound(uint256 modelId);
    /// @notice Thrown when a proof does not show `(account, cumulativeAmount)` in the model's root.
    error RewardDistributorInvalidProof(uint256 modelId, address account, uint256 cumulativeAmount);
    /// @notice Thrown when `account` has already claimed `claimed`, at least `cumulativeAmount`.
    error RewardDistributorNothingToClaim(address account, uint256 cumulativeAmount, uint256 claimed);

    /* VIEWS */

    function isOracle(address account) external view returns (bool);
    function oracleCount() external view returns (uint256);
    function threshold() external view returns (uint256);
    function challengeWindow() external view returns (uint256);
    /// @notice The EIP-712 digest the oracles sign for `round`.
    function roundDigest(Round calldata round) external view returns (bytes32);
    /// @notice The model's pending round; `challengeEndsAt` already includes every pause since submission.
    function pendingRound(uint256 modelId) external view returns (PendingRound memory);
    /// @notice Total seconds this contract has been paused (the current pause included).
    function pausedSeconds() external view returns (uint256);
    /// @notice The model's claimable state: latest finalized root, round id and cumulative emission.
    function finalizedRound(uint256 modelId)
        external
        view
        returns (bytes32 merkleRoot, uint256 roundId, uint256 cumulativeEmission, address stakeToken);
    function claimed(uint256 modelId, address account) external view returns (uint256);
    /// @notice The bond-decisions root of the model's round `roundId` if that round is final; zero while it is
    /// pending, after a veto, when it decided no bond, or when no such round exists. Only a final round decides.
    function bondsRoot(uint256 modelId, uint256 roundId) external view returns (bytes32);

    /* ACTIONS */

    function addOracle(address oracle) external;
    function removeOracle(address oracle) external;
    function setThreshold(uint256 newThreshold) external;
    function setChallengeWindow(uint256 newChallengeWindow) external;

    /// @notice Accepts `round` if at least {threshold} oracles signed it, in strictly ascending signer order.
    /// @dev Requirements: `block.timestamp` <= `round.deadline`; the round id is the model's next, no round is
    /// pending, the cumulative emission adds up and the model's emission policy holds; a round with zero
    /// emission keeps the model's current root; the model's owner has committed the round's evaluation set
    /// on the registry. Emits {RoundSubmitted}.
    function submitRound(Round calldata round, bytes[] calldata signatures) external;

    /// @notice Appends the next chunk to the caller's own score list of the pending round, entries in strictly
    /// ascending account order. The running hash is `h = keccak256(abi.encode(h, account, score, amount))` per
    /// entry, from `h = 0`, so it does not depend on how the list is chunked. Each oracle builds its own list,
    /// so no oracle can spoil another's; the first list that matches the round (hash and emission) completes it.
    /// When the list becomes complete the challenge window runs for at least its full length from then,
    /// so the guardian always sees every score on-chain before the round can become final.
    /// A complete round is final: no chunk (not even an empty one) is accepted after it, so no single
    /// oracle can restart the challenge window.
    /// @dev Requirements: caller is an oracle; `scores` is not empty; the round is not complete yet; the
    /// list's amounts stay within the emission. Emits {ScoresPublished}, and {ScoresCompleted} on completion.
    function publishScores(uint256 modelId, uint256 roundId, ScoreEntry[] calldata entries) external;

    /// @notice Clears the caller's own score list of the pending round, so a wrong chunk can be replaced.
    /// Not possible once the round is complete.
    /// @dev Requirements: caller is an oracle. Emits {ScoresReset}.
    function resetScores(uint256 modelId, uint256 roundId) external;

    /// @notice `publisher`'s score list of the model's pending round (all zero if it has none for that round).
    function scoreList(uint256 modelId, address publisher) external view returns (ScoreList memory);

    /// @notice Vetoes the model's pending round during its challenge window, or at any time while its
    /// published score list does not match it (so a round that can never finalize cannot block the model).
    /// @dev Requirements: caller has GUARDIAN_ROLE. Emits {RoundVetoed}.
    function vetoRound(uint256 modelId) external;

    /// @notice Makes the pending round final once its challenge window is over and its score list published.
    /// @dev Emits {RoundFinalized}.
    function finalizeRound(uint256 modelId) external;

    /// @notice Mints to `account` its stake up to `cumulativeAmount`, less what it already claimed. Anyone may
    /// send it; the stake always goes to `account`.
    /// @dev Emits {Claimed}.
    function claim(uint256 modelId, address account, uint256 cumulativeAmount, bytes32[] calldata proof) external;

    /// @notice {claim} for several models or accounts in one transaction; entries already claimed are skipped.
    function claimMany(ClaimInput[] calldata claims) external;
}

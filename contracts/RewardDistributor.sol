// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {IContributionRegistry} from "./interfaces/IContributionRegistry.sol";
import {IModelStakeToken} from "./interfaces/IModelStakeToken.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";

/// @title RewardDistributor
/// @notice The only minter of every model's stake token: k-of-n signed cumulative Merkle rounds, a
/// challenge window with a guardian veto, on-chain score lists, and claims.
/// @dev Trust model: the admin (a TimelockController in every `openledger deploy`, so each change is
/// public for the timelock's delay before it takes effect) sets oracles, threshold and window; the
/// window can never go below {minChallengeWindow}; the guardian (a different key, set at deployment)
/// vetoes and pauses at once; k oracles sign rounds. Pausing stops the challenge clock.
contract RewardDistributor is IRewardDistributor, AccessControl, Pausable, EIP712 {
    /* CONSTANTS AND IMMUTABLES */

    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    bytes32 public constant ROUND_TYPEHASH = keccak256(
        "Round(uint256 modelId,uint256 roundId,bytes32 merkleRoot,uint256 emission,uint256 cumulativeEmission,bytes32 scoresHash,bytes32 methodHash,bytes32 roundFileHash,uint256 deadline,bytes32 bondsRoot)"
    );

    uint256 public constant MAX_CHALLENGE_WINDOW = 30 days;

    IContributionRegistry public immutable registry;
    /// @notice The shortest challenge window the admin may ever set (audit M-2, L-3).
    uint256 public immutable minChallengeWindow;

    /* STORAGE */

    /// @dev What a claim reads, packed into two slots: the root, then the token and the mint cap. Only the
    /// latest final root claims (issue 24, N-5): a previous root would let a leaf a correction round lowered
    /// still mint its old amount, and then an honest claim of the new tree could exceed the mint cap.
    struct ClaimState {
        bytes32 merkleRoot;
        address stakeToken;
        uint96 cumulativeEmission;
        uint64 roundId;
    }

    mapping(address account => bool) private _isOracle;
    uint256 private _oracleCount;
    uint256 private _threshold;
    uint256 private _challengeWindow;
    mapping(uint256 modelId => ClaimState) private _finalized;
    mapping(uint256 modelId => PendingRound) private _pending;
    /// @dev Each oracle's own score list of the model's pending round (a list of an earlier submission counts as empty).
    mapping(uint256 modelId => mapping(address publisher => ScoreList)) private _scoreLists;
    mapping(bytes32 digest => bool) private _vetoed;
    mapping(uint256 modelId => mapping(address account => uint256)) private _claimed;
    /// @dev The pending round's bond-decisions root (kept beside {PendingRound}, whose layout the toolkit reads),
    /// and every final round's; a vetoed round's is deleted with it.
    mapping(uint256 modelId => bytes32) private _pendingBondsRoot;
    mapping(uint256 modelId => mapping(uint256 roundId => bytes32)) private _bondsRoots;
    /// @dev Seconds the contract has spent paused (finished pauses), and when the current pause began.
    uint40 private _pausedSeconds;
    uint40 private _pausedAt;

    /* CONSTRUCTOR */

    /// @param admin Holder of DEFAULT_ADMIN_ROLE: a timelock, so that its changes are public before they apply.
    /// @param guardian Holder of GUARDIAN_ROLE and PAUSER_ROLE; must not be the admin.
    constructor(
        IContributionRegistry registry_,
        address admin,
        address guardian,
        address[] memory oracles,
        uint256 threshold_,
        uint256 challengeWindow_,
        uint256 minChallengeWindow_
    ) EIP712("OpenLedger RewardDistributor", "1") {
        if (address(registry_) == address(0) || admin == address(0) || guardian == address(0)) {
            revert RewardDistributorZeroAddress();
        }
        if (guardian == admin) revert RewardDistributorGuardianIsAdmin(guardian);
        if (minChallengeWindow_ > MAX_CHALLENGE_WINDOW) revert RewardDistributorInvalidChallengeWindow(minChallengeWindow_);
        registry = registry_;
        minChallengeWindow = minChallengeWindow_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GUARDIAN_ROLE, guardian);
        _grantRole(PAUSER_ROLE, guardian);
        for (uint256 i = 0; i < oracles.length; ++i) {
            _addOracle(oracles[i]);
        }
        _setThreshold(threshold_);
        _setChallengeWindow(challengeWindow_);
    }

    /* VIEWS */

    /// @inheritdoc IRewardDistributor
    function isOracle(address account) external view returns (bool) {
        return _isOracle[account];
    }

    /// @inheritdoc IRewardDistributor
    function oracleCount() external view returns (uint256) {
        return _oracleCount;
    }

    /// @inheritdoc IRewardDistributor
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @inheritdoc IRewardDistributor
    function challengeWindow() external view returns (uint256) {
        return _challengeWindow;
    }

    /// @inheritdoc IRewardDistributor
    function roundDigest(Round calldata round) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ROUND_TYPEHASH, round)));
    }

    /// @inheritdoc IRewardDistributor
    function pendingRound(uint256 modelId) external view returns (PendingRound memory round) {
        round = _pending[modelId];
        if (round.roundId != 0) round.challengeEndsAt = uint40(_challengeEndsAt(_pending[modelId]));
    }

    /// @inheritdoc IRewardDistributor
    function scoreList(uint256 modelId, address publisher) external view returns (ScoreList memory list) {
        PendingRound storage pending = _pending[modelId];
        if (pending.roundId != 0 && _scoreLists[modelId][publisher].digest == pending.digest) {
            list = _scoreLists[modelId][publisher];
        }
    }

    /// @inheritdoc IRewardDistributor
    function pausedSeconds() public view returns (uint256) {
        return paused() ? _pausedSeconds + (block.timestamp - _pausedAt) : _pausedSeconds;
    }

    /// @inheritdoc IRewardDistributor
    function finalizedRound(uint256 modelId)
        external
        view
        returns (bytes32 merkleRoot, uint256 roundId, uint256 cumulativeEmission, address stakeToken)
    {
        ClaimState storage state = _finalized[modelId];
        return (state.merkleRoot, state.roundId, state.cumulativeEmission, state.stakeToken);
    }

    /// @inheritdoc IRewardDistributor
    function claimed(uint256 modelId, address account) external view returns (uint256) {
        return _claimed[modelId][account];
    }

    /// @inheritdoc IRewardDistributor
    function bondsRoot(uint256 modelId, uint256 roundId) external view returns (bytes32) {
        return _bondsRoots[modelId][roundId];
    }

    /// @notice The EIP-712 domain separator of this distributor on the current chain.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /* ADMIN */

    /// @inheritdoc IRewardDistributor
    function addOracle(address oracle) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _addOracle(oracle);
    }

    /// @inheritdoc IRewardDistributor
    function removeOracle(address oracle) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_isOracle[oracle]) revert RewardDistributorNotOracle(oracle);
        uint256 count = _oracleCount - 1;
        // Never leave a threshold that no set of oracles can reach.
        if (count < _threshold) revert RewardDistributorInvalidThreshold(_threshold, count);
        _isOracle[oracle] = false;
        _oracleCount = count;
        emit OracleRemoved(oracle);
    }

    /// @inheritdoc IRewardDistributor
    function setThreshold(uint256 newThreshold) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newThreshold == _threshold) revert RewardDistributorInvalidThreshold(newThreshold, _oracleCount);
        _setThreshold(newThreshold);
    }

    /// @inheritdoc IRewardDistributor
    function setChallengeWindow(uint256 newChallengeWindow) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newChallengeWindow == _challengeWindow) revert RewardDistributorInvalidChallengeWindow(newChallengeWindow);
        _setChallengeWindow(newChallengeWindow);
    }

    /// @notice Stops submissions, score publishing, finalization and claims, and the challenge clock:
    /// pending windows are extended by however long the pause lasts (audit I-1). The guardian can still veto.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pausedAt = uint40(block.timestamp);
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _pausedSeconds = uint40(pausedSeconds());
        _unpause();
    }

    /* ROUNDS */

    /// @inheritdoc IRewardDistributor
    function submitRound(Round calldata round, bytes[] calldata signatures) external whenNotPaused {
        // A signed draft expires (like an ERC-2612 permit): one the oracles replaced cannot be sent later by anyone.
        if (block.timestamp > round.deadline) revert RewardDistributorRoundExpired(round.deadline, block.timestamp);
        _checkRoundPolicy(round);
        bytes32 digest = roundDigest(round);
        if (_vetoed[digest]) revert RewardDistributorRoundWasVetoed(digest);
        address[] memory signers = _recoverSigners(digest, signatures);
        _pending[round.modelId] = PendingRound({
            merkleRoot: round.merkleRoot,
            scoresHash: round.scoresHash,
            digest: digest,
            // Both fit: _checkRoundPolicy bounds them by the model's uint96 maximum emission.
            emission: uint96(round.emission),
            cumulativeEmission: uint96(round.cumulativeEmission),
            roundId: uint64(round.roundId),
            // Fixed at submission, so a later change of the window cannot shorten a pending round's.
            challengeEndsAt: uint40(block.timestamp + _challengeWindow),
            submitter: msg.sender,
            scoresPublisher: address(0),
            pausedSecondsAtStart: _pausedSeconds
        });
        _emitRoundSubmitted(round, signers);
        // A round that decides no bond costs no slot (a previous submission's was deleted by its veto).
        if (round.bondsRoot != bytes32(0)) {
            _pendingBondsRoot[round.modelId] = round.bondsRoot;
            emit BondsRootSubmitted(round.modelId, round.roundId, round.bondsRoot);
        }
    }

    /// @inheritdoc IRewardDistributor
    function publishScores(uint256 modelId, uint256 roundId, ScoreEntry[] calldata scores) external whenNotPaused {
        // Only oracles publish, each to its own list: a chunk cannot be taken back by others, so a shared
        // list would let one oracle (or anyone) stall every round by slipping in a wrong entry or a reset.
        if (!_isOracle[msg.sender]) revert RewardDistributorUnauthorizedPublisher(msg.sender);
        PendingRound storage pending = _requirePending(modelId, roundId);
        // A complete round is final: an empty chunk would restart the challenge window (audit M-1).
        if (_scoresComplete(pending)) revert RewardDistributorScoresAlreadyComplete(modelId, roundId);
        if (scores.length == 0) revert RewardDistributorEmptyScoreChunk(modelId, roundId);
        ScoreList storage list = _scoreLists[modelId][msg.sender];
        if (list.digest != pending.digest) {
            // A list of an earlier submission (a vetoed round's successor has the same id, not the same digest).
            delete _scoreLists[modelId][msg.sender];
            list.digest = pending.digest;
        }
        bytes32 runningHash = list.runningHash;
        address previous = list.lastAccount;
        uint256 total = list.amount;
        for (uint256 i = 0; i < scores.length; ++i) {
            ScoreEntry calldata entry = scores[i];
            if (entry.account <= previous) revert RewardDistributorScoresNotAscending(previous, entry.account);
            previous = entry.account;
            total += entry.amount;
            runningHash = keccak256(abi.encode(runningHash, entry.account, entry.score, entry.amount));
        }
        uint256 emission = pending.emission;
        if (total > emission) revert RewardDistributorScoresAmountMismatch(total, emission);
        uint256 firstIndex = list.count;
        list.runningHash = runningHash;
        list.lastAccount = previous;
        list.amount = uint96(total); // fits: at most the emission, a uint96
        list.count = uint32(firstIndex + scores.length);
        emit ScoresPublished(modelId, roundId, msg.sender, firstIndex, scores, runningHash);
        if (runningHash == pending.scoresHash && total == emission) {
            pending.scoresPublisher = msg.sender;
            // The guardian gets a full window with every score readable on-chain before finality.
            uint256 endsAt = Math.max(block.timestamp + _challengeWindow, _challengeEndsAt(pending));
            pending.challengeEndsAt = uint40(endsAt);
            pending.pausedSecondsAtStart = _pausedSeconds; // not paused here: endsAt already counts every pause
            emit ScoresCompleted(modelId, roundId, msg.sender, endsAt);
        }
    }

    /// @inheritdoc IRewardDistributor
    function resetScores(uint256 modelId, uint256 roundId) external whenNotPaused {
        if (!_isOracle[msg.sender]) revert RewardDistributorUnauthorizedPublisher(msg.sender);
        PendingRound storage pending = _requirePending(modelId, roundId);
        // A complete round is final: its list is the one the round finalizes with.
        if (_scoresComplete(pending)) revert RewardDistributorScoresAlreadyComplete(modelId, roundId);
        delete _scoreLists[modelId][msg.sender];
        emit ScoresReset(modelId, roundId, msg.sender);
    }

    /// @inheritdoc IRewardDistributor
    function vetoRound(uint256 modelId) external onlyRole(GUARDIAN_ROLE) {
        PendingRound storage pending = _pending[modelId];
        uint256 roundId = pending.roundId;
        if (roundId == 0) revert RewardDistributorNoPendingRound(modelId, 0);
        uint256 endsAt = _challengeEndsAt(pending);
        // After the window a round can still be vetoed while its score list does not match: otherwise a
        // round that can never finalize would block the model's rounds forever.
        if (block.timestamp >= endsAt && _scoresComplete(pending)) revert RewardDistributorChallengeWindowClosed(endsAt);
        bytes32 digest = pending.digest;
        _vetoed[digest] = true;
        delete _pending[modelId];
        delete _pendingBondsRoot[modelId];
        emit RoundVetoed(modelId, roundId, digest, msg.sender);
    }

    /// @inheritdoc IRewardDistributor
    function finalizeRound(uint256 modelId) external whenNotPaused {
        PendingRound memory pending = _pending[modelId];
        if (pending.roundId == 0) revert RewardDistributorNoPendingRound(modelId, 0);
        uint256 endsAt = _challengeEndsAt(_pending[modelId]);
        if (block.timestamp < endsAt) revert RewardDistributorChallengeWindowOpen(endsAt);
        if (pending.scoresPublisher == address(0)) revert RewardDistributorScoresIncomplete(modelId, pending.roundId);
        ClaimState storage state = _finalized[modelId];
        // The old root stops claiming here (N-5). A claim in flight against it reverts with InvalidProof and
        // is redone with a proof of the new tree, which holds at least the old cumulative amount of every
        // account a round did not correct (cumulative amounts only grow), so nothing is lost by waiting.
        state.merkleRoot = pending.merkleRoot;
        state.cumulativeEmission = pending.cumulativeEmission;
        state.roundId = pending.roundId;
        delete _pending[modelId];
        emit RoundFinalized(modelId, pending.roundId, pending.merkleRoot, pending.cumulativeEmission);
        bytes32 decisions = _pendingBondsRoot[modelId];
        if (decisions != bytes32(0)) {
            // Only now, with the round final, can the registry apply its bond decisions.
            _bondsRoots[modelId][pending.roundId] = decisions;
            delete _pendingBondsRoot[modelId];
            emit BondsRootFinalized(modelId, pending.roundId, decisions);
        }
        // All of the round's stake earns fees from now on, whenever it is claimed.
        IModelStakeToken(state.stakeToken).startFeePeriod(pending.cumulativeEmission);
    }

    /* CLAIMS */

    /// @inheritdoc IRewardDistributor
    function claim(uint256 modelId, address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        whenNotPaused
    {
        _claim(modelId, account, cumulativeAmount, proof);
    }

    /// @inheritdoc IRewardDistributor
    function claimMany(ClaimInput[] calldata claims) external whenNotPaused {
        for (uint256 i = 0; i < claims.length; ++i) {
            ClaimInput calldata c = claims[i];
            // Anyone may claim for anyone: skip what is already claimed so nobody can void the batch.
            if (c.cumulativeAmount <= _claimed[c.modelId][c.account]) continue;
            _claim(c.modelId, c.account, c.cumulativeAmount, c.proof);
        }
    }

    /* INTERNAL */

    function _claim(uint256 modelId, address account, uint256 cumulativeAmount, bytes32[] calldata proof) private {
        ClaimState storage state = _finalized[modelId];
        bytes32 root = state.merkleRoot;
        if (root == bytes32(0)) revert RewardDistributorNoFinalizedRound(modelId);
        // OpenZeppelin StandardMerkleTree leaf: double hash, so no inner node can pass as a leaf.
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        // Only the latest final root (N-5): see {ClaimState}.
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) {
            revert RewardDistributorInvalidProof(modelId, account, cumulativeAmount);
        }
        uint256 alreadyClaimed = _claimed[modelId][account];
        if (cumulativeAmount <= alreadyClaimed) {
            revert RewardDistributorNothingToClaim(account, cumulativeAmount, alreadyClaimed);
        }
        _claimed[modelId][account] = cumulativeAmount;
        uint256 amount;
        unchecked {
            amount = cumulativeAmount - alreadyClaimed; // cannot underflow: checked just above
        }
        emit Claimed(modelId, account, amount, cumulativeAmount);
        // The token enforces the cap: its supply (all stake ever minted) never exceeds the finalized emission.
        IModelStakeToken(state.stakeToken).mint(account, amount, state.cumulativeEmission);
    }

    /// @dev Reverts unless `round` is the model's next round, fits its emission policy and has the owner's
    /// evaluation commitment; caches the model's stake token for claims.
    function _checkRoundPolicy(Round calldata round) private {
        uint256 modelId = round.modelId;
        IContributionRegistry.Model memory model = registry.getModel(modelId);
        uint256 pendingId = _pending[modelId].roundId;
        if (pendingId != 0) revert RewardDistributorRoundPending(modelId, pendingId);
        ClaimState storage state = _finalized[modelId];
        uint256 expectedId = uint256(state.roundId) + 1;
        if (round.roundId != expectedId) revert RewardDistributorUnexpectedRoundId(modelId, expectedId, round.roundId);
        uint256 expectedCumulative = uint256(state.cumulativeEmission) + round.emission;
        if (round.cumulativeEmission != expectedCumulative) {
            revert RewardDistributorCumulativeMismatch(expectedCumulative, round.cumulativeEmission);
        }
        if (round.emission > model.emissionPerRound || round.cumulativeEmission > model.maxEmission) {
            revert RewardDistributorEmissionOverPolicy(round.emission, round.cumulativeEmission);
        }
        if (round.merkleRoot == bytes32(0)) revert RewardDistributorZeroRoot();
        // N-4: a round that mints nothing may still publish scores (and, later, decide bonds), but a new tree
        // could only move unclaimed stake between accounts.
        if (round.emission == 0 && round.merkleRoot != state.merkleRoot) {
            revert RewardDistributorZeroEmissionRootChanged(modelId, state.merkleRoot, round.merkleRoot);
        }
        // The owner's evaluation commitment must be on-chain before any round that uses it: otherwise k oracles
        // could value contributions on a set of their own choosing, perhaps one they trained on (issue 24).
        if (registry.evaluationCommitment(modelId, round.roundId).evalHash == bytes32(0)) {
            revert RewardDistributorEvaluationNotCommitted(modelId, round.roundId);
        }
        if (state.stakeToken == address(0)) state.stakeToken = model.stakeToken;
    }

    function _emitRoundSubmitted(Round calldata round, address[] memory signers) private {
        emit RoundSubmitted(
            round.modelId,
            round.roundId,
            round.merkleRoot,
            round.emission,
            round.cumulativeEmission,
            round.scoresHash,
            round.methodHash,
            round.roundFileHash,
            round.deadline,
            msg.sender,
            signers
        );
    }

    function _recoverSigners(bytes32 digest, bytes[] calldata signatures) private view returns (address[] memory signers) {
        uint256 count = signatures.length;
        if (count < _threshold) revert RewardDistributorInsufficientSignatures(count, _threshold);
        signers = new address[](count);
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            // Strictly ascending: the same oracle can never count twice.
            if (signer <= previous) revert RewardDistributorSignersNotAscending(previous, signer);
            if (!_isOracle[signer]) revert RewardDistributorNotOracle(signer);
            signers[i] = signer;
            previous = signer;
        }
    }

    /// @dev The end of a pending round's challenge window, pushed back by every second paused since it was set.
    function _challengeEndsAt(PendingRound storage pending) private view returns (uint256) {
        return pending.challengeEndsAt + (pausedSeconds() - pending.pausedSecondsAtStart);
    }

    function _scoresComplete(PendingRound storage pending) private view returns (bool) {
        return pending.scoresPublisher != address(0);
    }

    function _requirePending(uint256 modelId, uint256 roundId) private view returns (PendingRound storage pending) {
        pending = _pending[modelId];
        if (pending.roundId == 0 || pending.roundId != roundId) revert RewardDistributorNoPendingRound(modelId, roundId);
    }

    function _addOracle(address oracle) private {
        if (oracle == address(0)) revert RewardDistributorZeroAddress();
        if (_isOracle[oracle]) revert RewardDistributorOracleAlreadyAdded(oracle);
        _isOracle[oracle] = true;
        ++_oracleCount;
        emit OracleAdded(oracle);
    }

    function _setThreshold(uint256 newThreshold) private {
        if (newThreshold == 0 || newThreshold > _oracleCount) {
            revert RewardDistributorInvalidThreshold(newThreshold, _oracleCount);
        }
        _threshold = newThreshold;
        emit ThresholdSet(newThreshold);
    }

    function _setChallengeWindow(uint256 newChallengeWindow) private {
        if (newChallengeWindow < minChallengeWindow || newChallengeWindow > MAX_CHALLENGE_WINDOW) {
            revert RewardDistributorInvalidChallengeWindow(newChallengeWindow);
        }
        _challengeWindow = newChallengeWindow;
        emit ChallengeWindowSet(newChallengeWindow);
    }
}

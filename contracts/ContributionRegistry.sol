// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IContributionBonds} from "./interfaces/IContributionBonds.sol";
import {IContributionRegistry} from "./interfaces/IContributionRegistry.sol";
import {IModelStakeToken} from "./interfaces/IModelStakeToken.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";
import {ModelStakeToken} from "./ModelStakeToken.sol";

/// @title ContributionRegistry
/// @notice Registers models (deploying each one's stake token) and their contributions, and takes
/// usage fees. Every state change emits an event carrying all of the stored fields.
/// @dev Content goes to whoever *committed* to it first, not whoever registered first (audit M-3): a
/// registration whose commitment is older displaces one of the same content with a younger commitment.
/// Commitments must be revealed within {REVEAL_PERIOD_BLOCKS}, so a registration is settled (can no
/// longer be displaced) once that many blocks have passed since its commitment.
contract ContributionRegistry is IContributionRegistry, AccessControl, EIP712, Nonces, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /* CONSTANTS */

    uint16 public constant MAX_BPS = 10_000;

    /// @notice Blocks after its commitment within which a contribution must be registered. It bounds
    /// how long a registration can still be displaced by an earlier commitment to the same content.
    uint256 public constant REVEAL_PERIOD_BLOCKS = 256;

    /// @notice EIP-712 type of a contribution signed by its contributor for a relayer to register.
    bytes32 public constant REGISTER_CONTRIBUTION_TYPEHASH = keccak256(
        "RegisterContribution(uint256 modelId,uint8 kind,bytes32 contentHash,string uri,bytes32 salt,address contributor,uint256 nonce,uint256 deadline)"
    );

    /// @notice How many rounds ahead of the model's next one an evaluation set may be committed (0: only the next).
    uint256 public constant EVALUATION_LOOKAHEAD = 1;

    /// @dev `entry` value of a registration that is not part of a signed batch: its errors revert as they are.
    uint256 private constant NOT_IN_BATCH = type(uint256).max;

    /* STORAGE */

    address private _stakeMinter;
    address private _bondVault;
    uint256 private _modelCount;
    uint256 private _contributionCount;
    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 contributionId => Contribution) private _contributions;
    /// @dev Who holds a content hash, and the block of the commitment it was registered with; one slot.
    struct ContentHolder {
        uint192 contributionId;
        uint64 committedAt;
    }

    mapping(uint256 modelId => mapping(bytes32 contentHash => ContentHolder)) private _byContent;
    /// @dev Across all models: the registrant with the earliest commitment to a content hash, and its block.
    struct ContentClaim {
        address contributor;
        uint64 committedAt;
    }

    mapping(bytes32 contentHash => ContentClaim) private _contentClaims;
    mapping(uint256 modelId => address) private _pendingModelOwner;
    mapping(bytes32 commitment => uint256 blockNumber) private _commitments;
    mapping(uint256 modelId => mapping(uint256 roundId => EvaluationCommitment)) private _evaluations;
    /// @dev Owners' shares of usage fees, pulled by {withdrawOwnerFees}. They live here, not in another contract:
    /// the registry already takes the payment, so crediting costs one slot write and no extra call, and its
    /// runtime code (stake token creation code included) stays under EIP-170 with room to spare (measured:
    /// 22,352 bytes before this, 23,303 with it; the limit is 24,576).
    mapping(address owner => mapping(address token => uint256)) private _ownerFees;

    /* CONSTRUCTOR */

    constructor(address admin) EIP712("OpenLedger ContributionRegistry", "1") {
        if (admin == address(0)) revert ContributionRegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /* VIEWS */

    /// @inheritdoc IContributionRegistry
    function stakeMinter() external view returns (address) {
        return _stakeMinter;
    }

    /// @inheritdoc IContributionRegistry
    function bondVault() external view returns (address) {
        return _bondVault;
    }

    /// @inheritdoc IContributionRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    /// @inheritdoc IContributionRegistry
    function contributionCount() external view returns (uint256) {
        return _contributionCount;
    }

    /// @inheritdoc IContributionRegistry
    function getModel(uint256 modelId) public view returns (Model memory model) {
        model = _models[modelId];
        if (model.owner == address(0)) revert ContributionRegistryUnknownModel(modelId);
    }

    /// @inheritdoc IContributionRegistry
    function getContribution(uint256 contributionId) public view returns (Contribution memory contribution) {
        contribution = _contributions[contributionId];
        if (contribution.contributor == address(0)) revert ContributionRegistryUnknownContribution(contributionId);
    }

    /// @inheritdoc IContributionRegistry
    function contributionByContent(uint256 modelId, bytes32 contentHash) external view returns (uint256) {
        return _byContent[modelId][contentHash].contributionId;
    }

    /// @inheritdoc IContributionRegistry
    function contentClaim(bytes32 contentHash) external view returns (address holder, uint256 committedAt) {
        ContentClaim memory claim = _contentClaims[contentHash];
        return (claim.contributor, claim.committedAt);
    }

    /// @inheritdoc IContributionRegistry
    function pendingModelOwner(uint256 modelId) external view returns (address) {
        return _pendingModelOwner[modelId];
    }

    /// @inheritdoc IContributionRegistry
    function contributionCommitment(
        uint256 modelId,
        address contributor,
        ContributionKind kind,
        bytes32 contentHash,
        bytes32 salt
    ) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), modelId, contributor, kind, contentHash, salt));
    }

    /// @inheritdoc IContributionRegistry
    function commitmentBlock(bytes32 commitment) external view returns (uint256) {
        return _commitments[commitment];
    }

    /// @inheritdoc IContributionRegistry
    function nonces(address contributor) public view override(IContributionRegistry, Nonces) returns (uint256) {
        return super.nonces(contributor);
    }

    /// @inheritdoc IContributionRegistry
    function evaluationCommitment(uint256 modelId, uint256 roundId) external view returns (EvaluationCommitment memory) {
        return _evaluations[modelId][roundId];
    }

    /// @inheritdoc IContributionRegistry
    function ownerFees(address owner, address token) external view returns (uint256) {
        return _ownerFees[owner][token];
    }

    /// @notice The EIP-712 domain separator of this registry on the current chain.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /* EXTERNAL */

    /// @inheritdoc IContributionRegistry
    function setStakeMinter(address minter) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (minter == address(0)) revert ContributionRegistryZeroAddress();
        // Once only: otherwise an admin key could later point new models' minting at itself.
        if (_stakeMinter != address(0)) revert ContributionRegistryStakeMinterAlreadySet(_stakeMinter);
        _stakeMinter = minter;
        emit StakeMinterSet(minter);
    }

    /// @inheritdoc IContributionRegistry
    function setBondVault(address vault) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (vault == address(0)) revert ContributionRegistryZeroAddress();
        // Once only: contributors approve the vault, and an admin key must not redirect their bonds.
        if (_bondVault != address(0)) revert ContributionRegistryBondVaultAlreadySet(_bondVault);
        _bondVault = vault;
        emit BondVaultSet(vault);
    }

    /// @inheritdoc IContributionRegistry
    function registerModel(ModelParams calldata params) external returns (uint256 modelId) {
        address minter = _stakeMinter;
        if (minter == address(0)) revert ContributionRegistryStakeMinterNotSet();
        if (params.paymentToken == address(0)) revert ContributionRegistryZeroAddress();
        if (params.contributorShareBps > MAX_BPS) revert ContributionRegistryInvalidShare(params.contributorShareBps);
        if (params.emissionPerRound == 0 || params.emissionPerRound > params.maxEmission) {
            revert ContributionRegistryInvalidEmissionPolicy(params.emissionPerRound, params.maxEmission);
        }

        modelId = ++_modelCount;
        // CREATE2 with the model id as salt: the token's address is known before it exists.
        address stakeToken = address(
            new ModelStakeToken{salt: bytes32(modelId)}(
                params.name, params.symbol, modelId, IERC20(params.paymentToken), minter
            )
        );
        _models[modelId] = Model({
            owner: msg.sender,
            contributorShareBps: params.contributorShareBps,
            paymentToken: params.paymentToken,
            stakeToken: stakeToken,
            emissionPerRound: params.emissionPerRound,
            maxEmission: params.maxEmission,
            specHash: params.specHash
        });
        _emitModelRegistered(modelId, stakeToken, params);
    }

    /// @inheritdoc IContributionRegistry
    function commitContributions(bytes32[] calldata commitments) external {
        for (uint256 i = 0; i < commitments.length; ++i) {
            bytes32 commitment = commitments[i];
            // Keep the first block while it can be revealed: nobody can move a live commitment, and
            // re-posting one (for example copied from the mempool) neither reverts nor changes anything.
            uint256 committedAt = _commitments[commitment];
            if (committedAt != 0 && block.number <= committedAt + REVEAL_PERIOD_BLOCKS) continue;
            _commitments[commitment] = block.number;
            emit ContributionCommitted(commitment, msg.sender);
        }
    }

    /// @inheritdoc IContributionRegistry
    function registerContribution(
        uint256 modelId,
        ContributionKind kind,
        bytes32 contentHash,
        string calldata uri,
        bytes32 salt
    ) external nonReentrant returns (uint256 contributionId) {
        _requireModel(modelId);
        contributionId = _register(modelId, msg.sender, kind, contentHash, uri, salt, NOT_IN_BATCH);
        _postBonds(modelId, contributionId, 1, msg.sender, NOT_IN_BATCH);
    }

    /// @inheritdoc IContributionRegistry
    function registerContributions(uint256 modelId, ContributionInput[] calldata inputs)
        external
        nonReentrant
        returns (uint256 firstContributionId)
    {
        _requireModel(modelId);
        uint256 count = inputs.length;
        if (count == 0) revert ContributionRegistryEmptyBatch();
        firstContributionId = _contributionCount + 1;
        for (uint256 i = 0; i < count; ++i) {
            _register(
                modelId, msg.sender, inputs[i].kind, inputs[i].contentHash, inputs[i].uri, inputs[i].salt, NOT_IN_BATCH
            );
        }
        _postBonds(modelId, firstContributionId, count, msg.sender, NOT_IN_BATCH); // one transfer for the batch
    }

    /// @inheritdoc IContributionRegistry
    function registerContributionFor(
        uint256 modelId,
        ContributionKind kind,
        bytes32 contentHash,
        string calldata uri,
        bytes32 salt,
        address contributor,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (uint256 contributionId) {
        if (block.timestamp > deadline) revert ContributionRegistryExpiredSignature(deadline);
        _requireModel(modelId);
        _useSignature(modelId, kind, contentHash, uri, salt, contributor, deadline, signature, NOT_IN_BATCH);
        contributionId = _register(modelId, contributor, kind, contentHash, uri, salt, NOT_IN_BATCH);
        // The contributor signed the registration, and its allowance to the vault bounds the bond.
        _postBonds(modelId, contributionId, 1, contributor, NOT_IN_BATCH);
    }

    /// @inheritdoc IContributionRegistry
    // Entry i's bond call (the vault, then the model's payment token) precedes entry i+1's writes: the batch is
    // nonReentrant, so no registry function that moves state can run in between; views read a state in which
    // entries 0..i are complete, as after i+1 single calls (SLITHER.md).
    // slither-disable-next-line reentrancy-no-eth
    function registerContributionsFor(uint256 modelId, SignedContribution[] calldata registrations)
        external
        nonReentrant
        returns (uint256 firstContributionId)
    {
        _requireModel(modelId);
        uint256 count = registrations.length;
        if (count == 0) revert ContributionRegistryEmptyBatch();
        firstContributionId = _contributionCount + 1;
        for (uint256 i = 0; i < count; ++i) {
            SignedContribution calldata r = registrations[i];
            // N-2: an entry someone copied out of this batch and registered first (or that its contributor
            // registered itself) is done already: skip it rather than void everyone else's entries.
            uint256 held = _byContent[modelId][r.contentHash].contributionId;
            if (held != 0 && _contributions[held].contributor == r.contributor) {
                emit BatchEntrySkipped(modelId, i, r.contributor, held);
                continue;
            }
            // The same checks, in the same order, as registerContributionFor: entry i behaves exactly as
            // the i-th of as many single calls in one block, except that any other failure reverts them all.
            if (block.timestamp > r.deadline) {
                _fail(i, abi.encodeWithSelector(ContributionRegistryExpiredSignature.selector, r.deadline));
            }
            _useSignature(modelId, r.kind, r.contentHash, r.uri, r.salt, r.contributor, r.deadline, r.signature, i);
            uint256 contributionId = _register(modelId, r.contributor, r.kind, r.contentHash, r.uri, r.salt, i);
            // A contributor without the allowance or the balance fails its own entry, by index.
            _postBonds(modelId, contributionId, 1, r.contributor, i);
        }
    }

    /// @inheritdoc IContributionRegistry
    function commitEvaluation(uint256 modelId, uint256 roundId, bytes32 evalHash) external {
        _requireModelOwner(modelId);
        if (roundId == 0 || evalHash == bytes32(0)) revert ContributionRegistryInvalidEvaluation(roundId, evalHash);
        (uint256 nextRoundId, uint256 pendingRoundId) = _roundsOf(modelId);
        // N-1: no commitments for past rounds or far-future ones (only their committer would know the sets).
        if (roundId < nextRoundId || roundId > nextRoundId + EVALUATION_LOOKAHEAD) {
            revert ContributionRegistryEvaluationRoundOutOfRange(modelId, roundId, nextRoundId);
        }
        EvaluationCommitment memory existing = _evaluations[modelId][roundId];
        if (existing.evalHash != bytes32(0)) {
            // Binding for its committer; a later owner may replace a predecessor's while no pending round uses it.
            if (existing.committer == msg.sender) {
                revert ContributionRegistryEvaluationAlreadyCommitted(modelId, roundId, existing.evalHash);
            }
            if (pendingRoundId == roundId) revert ContributionRegistryEvaluationInUse(modelId, roundId);
        }
        _evaluations[modelId][roundId] =
            EvaluationCommitment({evalHash: evalHash, committedAt: uint64(block.number), committer: msg.sender});
        emit EvaluationCommitted(modelId, roundId, evalHash);
        if (existing.evalHash != bytes32(0)) {
            emit EvaluationReplaced(modelId, roundId, existing.evalHash, evalHash, msg.sender);
        }
    }

    /// @inheritdoc IContributionRegistry
    function revealEvaluation(uint256 modelId, uint256 roundId, string calldata uri) external {
        _requireModelOwner(modelId);
        bytes32 evalHash = _evaluations[modelId][roundId].evalHash;
        if (evalHash == bytes32(0)) revert ContributionRegistryEvaluationNotCommitted(modelId, roundId);
        emit EvaluationRevealed(modelId, roundId, evalHash, uri);
    }

    /// @inheritdoc IContributionRegistry
    function transferModelOwnership(uint256 modelId, address newOwner) external {
        _requireModelOwner(modelId);
        _pendingModelOwner[modelId] = newOwner;
        emit ModelOwnershipTransferStarted(modelId, msg.sender, newOwner);
    }

    /// @inheritdoc IContributionRegistry
    function acceptModelOwnership(uint256 modelId) external {
        if (msg.sender != _pendingModelOwner[modelId] || msg.sender == address(0)) {
            revert ContributionRegistryNotPendingModelOwner(modelId, msg.sender);
        }
        address previous = _models[modelId].owner;
        _models[modelId].owner = msg.sender;
        delete _pendingModelOwner[modelId];
        emit ModelOwnershipTransferred(modelId, previous, msg.sender);
    }

    /// @inheritdoc IContributionRegistry
    function withdrawContribution(uint256 contributionId) external nonReentrant {
        Contribution storage contribution = _contributions[contributionId];
        if (contribution.contributor == address(0)) revert ContributionRegistryUnknownContribution(contributionId);
        if (contribution.contributor != msg.sender) {
            revert ContributionRegistryNotContributor(contributionId, msg.sender);
        }
        if (contribution.withdrawn) revert ContributionRegistryAlreadyWithdrawn(contributionId);
        contribution.withdrawn = true;
        emit ContributionWithdrawn(contributionId, contribution.modelId, msg.sender);
        address vault = _bondVault;
        if (vault != address(0)) {
            (uint256 nextRoundId,) = _roundsOf(contribution.modelId);
            IContributionBonds(vault).onContributionWithdrawn(contributionId, nextRoundId);
        }
    }

    /// @inheritdoc IContributionRegistry
    function payUsage(uint256 modelId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ContributionRegistryZeroPayment();
        Model memory model = getModel(modelId);
        // mulDiv: amount * bps would overflow for amounts above 2^256 / bps (red team, finding D).
        uint256 holdersAmount = Math.mulDiv(amount, model.contributorShareBps, MAX_BPS);
        uint256 ownerAmount = amount - holdersAmount;
        emit UsagePaid(modelId, msg.sender, amount, ownerAmount, holdersAmount);
        IERC20 token = IERC20(model.paymentToken);
        if (ownerAmount != 0) {
            // Pull, not push: a transfer to an owner the token refuses would block every payment of the model.
            // Credit what arrived, so the registry always holds every owner's balance (a fee-on-transfer
            // token's cut falls on the owner, as the stake side's accrual counts what arrived too).
            uint256 before = token.balanceOf(address(this));
            token.safeTransferFrom(msg.sender, address(this), ownerAmount);
            uint256 received = token.balanceOf(address(this)) - before;
            _ownerFees[model.owner][address(token)] += received;
            emit OwnerFeesCredited(modelId, model.owner, address(token), received);
        }
        if (holdersAmount != 0) {
            token.safeTransferFrom(msg.sender, model.stakeToken, holdersAmount);
            // The credited amount is only informational here (FeesAccrued/FeesHeld carry it).
            // slither-disable-next-line unused-return
            IModelStakeToken(model.stakeToken).accrueFees();
        }
    }

    /// @inheritdoc IContributionRegistry
    function withdrawOwnerFees(address token, address to) external nonReentrant returns (uint256 amount) {
        // The registry itself would hold the fees for ever, owed to nobody.
        if (to == address(0) || to == address(this)) revert ContributionRegistryInvalidFeeRecipient(to);
        amount = _ownerFees[msg.sender][token];
        if (amount == 0) revert ContributionRegistryNoOwnerFees(msg.sender, token);
        _ownerFees[msg.sender][token] = 0;
        emit OwnerFeesWithdrawn(msg.sender, token, to, amount);
        IERC20(token).safeTransfer(to, amount);
    }

    /* INTERNAL */

    function _emitModelRegistered(uint256 modelId, address stakeToken, ModelParams calldata params) private {
        emit ModelRegistered(
            modelId,
            msg.sender,
            stakeToken,
            params.paymentToken,
            params.contributorShareBps,
            params.emissionPerRound,
            params.maxEmission,
            params.specHash,
            params.specURI,
            params.name,
            params.symbol
        );
    }

    /// @dev The model's next round id (its last final round + 1) and its pending round's id (0: none), as the
    /// stake minter (the reward distributor) reports them; (1, 0) while the minter is not a contract (tests).
    function _roundsOf(uint256 modelId) private view returns (uint256 nextRoundId, uint256 pendingRoundId) {
        address minter = _stakeMinter;
        if (minter.code.length == 0) return (1, 0);
        // Only the round id is needed here; the root, emission and token are the distributor's business.
        // slither-disable-next-line unused-return
        (, uint256 finalized,,) = IRewardDistributor(minter).finalizedRound(modelId);
        nextRoundId = finalized + 1;
        pendingRoundId = IRewardDistributor(minter).pendingRound(modelId).roundId;
    }

    /// @dev Has the bond vault take the model's bond for `count` contributions from `firstContributionId` (all by
    /// `contributor`), after every state change of the registration; its error fails entry `entry` as {_fail} does.
    function _postBonds(uint256 modelId, uint256 firstContributionId, uint256 count, address contributor, uint256 entry)
        private
    {
        address vault = _bondVault;
        if (vault == address(0)) return;
        try IContributionBonds(vault).postBonds(modelId, firstContributionId, count, contributor) {}
        catch (bytes memory reason) {
            _fail(entry, reason);
        }
    }

    function _requireModel(uint256 modelId) private view {
        if (_models[modelId].owner == address(0)) revert ContributionRegistryUnknownModel(modelId);
    }

    function _requireModelOwner(uint256 modelId) private view {
        address owner = _models[modelId].owner;
        if (owner == address(0)) revert ContributionRegistryUnknownModel(modelId);
        if (owner != msg.sender) revert ContributionRegistryNotModelOwner(modelId, msg.sender);
    }

    /// @dev Consumes `contributor`'s current nonce and checks its signature over the registration.
    function _useSignature(
        uint256 modelId,
        ContributionKind kind,
        bytes32 contentHash,
        string calldata uri,
        bytes32 salt,
        address contributor,
        uint256 deadline,
        bytes calldata signature,
        uint256 entry
    ) private {
        bytes32 structHash = keccak256(
            abi.encode(
                REGISTER_CONTRIBUTION_TYPEHASH,
                modelId,
                kind,
                contentHash,
                keccak256(bytes(uri)),
                salt,
                contributor,
                _useNonce(contributor),
                deadline
            )
        );
        if (!SignatureChecker.isValidSignatureNow(contributor, _hashTypedDataV4(structHash), signature)) {
            _fail(entry, abi.encodeWithSelector(ContributionRegistryInvalidSignature.selector, contributor));
        }
    }

    /// @dev Reverts with `error` (an encoded custom error) as it is, or, for entry `entry` of a signed batch,
    /// wrapped in {ContributionRegistryBatchEntryInvalid} so the relayer learns which entry to drop. The
    /// error is only encoded on the failure path, so a valid registration pays nothing for it.
    function _fail(uint256 entry, bytes memory error) private pure {
        if (entry != NOT_IN_BATCH) revert ContributionRegistryBatchEntryInvalid(entry, error);
        assembly ("memory-safe") {
            revert(add(error, 0x20), mload(error))
        }
    }

    /// @dev N-3: the block a registration's priority counts from: its own commitment's, or, for the contributor
    /// holding the content across models, its earliest commitment to it if that is older.
    function _priority(bytes32 contentHash, address contributor, uint256 committedAt) private view returns (uint256) {
        ContentClaim memory claim = _contentClaims[contentHash];
        return claim.contributor == contributor ? Math.min(committedAt, claim.committedAt) : committedAt;
    }

    /// @dev N-3: the earliest commitment to a content hash, in any model, keeps it in every model. Fails when
    /// someone else holds the content with a commitment no later than this one; records the contributor as the
    /// holder when it is the first, or its commitment (`priority`) the older.
    function _claimContent(
        bytes32 contentHash,
        address contributor,
        uint256 committedAt,
        uint256 priority,
        uint256 entry
    ) private {
        ContentClaim memory claim = _contentClaims[contentHash];
        if (claim.contributor != contributor && claim.contributor != address(0) && claim.committedAt <= committedAt) {
            _fail(
                entry,
                abi.encodeWithSelector(
                    ContributionRegistryContentClaimed.selector, contentHash, claim.contributor, claim.committedAt
                )
            );
        }
        if (claim.contributor == address(0) || priority < claim.committedAt) {
            _contentClaims[contentHash] = ContentClaim({contributor: contributor, committedAt: uint64(priority)});
            emit ContentClaimed(contentHash, contributor, priority);
        }
    }

    function _register(
        uint256 modelId,
        address contributor,
        ContributionKind kind,
        bytes32 contentHash,
        string calldata uri,
        bytes32 salt,
        uint256 entry
    ) private returns (uint256 contributionId) {
        if (contentHash == bytes32(0)) {
            _fail(entry, abi.encodeWithSelector(ContributionRegistryZeroContentHash.selector));
        }
        bytes32 commitment = contributionCommitment(modelId, contributor, kind, contentHash, salt);
        uint256 committedAt = _commitments[commitment];
        if (committedAt == 0 || committedAt >= block.number) {
            _fail(entry, abi.encodeWithSelector(ContributionRegistryNotCommitted.selector, commitment, committedAt));
        }
        if (block.number > committedAt + REVEAL_PERIOD_BLOCKS) {
            _fail(entry, abi.encodeWithSelector(ContributionRegistryCommitmentExpired.selector, commitment, committedAt));
        }
        delete _commitments[commitment];
        uint256 priority = _priority(contentHash, contributor, committedAt);
        ContentHolder memory holder = _byContent[modelId][contentHash];
        // Ties (same block) keep the registered one: only a strictly older commitment displaces, and only a
        // registration still unsettled (its own commitment at most REVEAL_PERIOD_BLOCKS old).
        if (
            holder.contributionId != 0
                && (holder.committedAt <= priority || block.number > holder.committedAt + REVEAL_PERIOD_BLOCKS)
        ) {
            _fail(
                entry,
                abi.encodeWithSelector(
                    ContributionRegistryDuplicateContent.selector, modelId, contentHash, holder.contributionId
                )
            );
        }
        _claimContent(contentHash, contributor, committedAt, priority, entry);
        contributionId = ++_contributionCount;
        _byContent[modelId][contentHash] =
            ContentHolder({contributionId: uint192(contributionId), committedAt: uint64(priority)});
        _contributions[contributionId] = Contribution({
            modelId: modelId,
            contributor: contributor,
            kind: kind,
            withdrawn: false,
            displaced: false,
            registeredAt: uint64(block.number),
            contentHash: contentHash
        });
        emit ContributionRegistered(contributionId, modelId, contributor, kind, contentHash, uri);
        if (holder.contributionId != 0) {
            _contributions[holder.contributionId].displaced = true;
            emit ContributionDisplaced(holder.contributionId, contributionId, modelId);
        }
    }
}

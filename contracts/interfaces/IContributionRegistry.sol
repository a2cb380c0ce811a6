// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IContributionRegistry
/// @notice Models, their contributions (each pinned by a content hash) and usage-fee intake.
/// Events carry every stored field, so an indexer rebuilds the state from logs alone.
interface IContributionRegistry {
    /* TYPES */

    enum ContributionKind {
        Data,
        Compute,
        FineTune,
        Evaluation,
        Annotation
    }

    /// @notice What a model owner supplies to register a model.
    /// @param specHash keccak256 of the model spec (task, evaluation set hash, attribution method).
    /// @param specURI Where the spec can be fetched.
    /// @param paymentToken The ERC-20 in which usage fees are paid.
    /// @param contributorShareBps Share of every usage fee paid to stake holders, in basis points.
    /// @param emissionPerRound Maximum stake minted by one attribution round.
    /// @param maxEmission Maximum stake ever minted for the model (at most 2**96 - 1).
    /// @param name Stake token name. @param symbol Stake token symbol.
    struct ModelParams {
        bytes32 specHash;
        string specURI;
        address paymentToken;
        uint16 contributorShareBps;
        uint96 emissionPerRound;
        uint96 maxEmission;
        string name;
        string symbol;
    }

    struct Model {
        address owner;
        uint16 contributorShareBps;
        address paymentToken;
        address stakeToken;
        uint96 emissionPerRound;
        uint96 maxEmission;
        bytes32 specHash;
    }

    struct Contribution {
        uint256 modelId;
        address contributor;
        ContributionKind kind;
        bool withdrawn;
        /// True once a registration of the same content with an older commitment took its place.
        bool displaced;
        uint64 registeredAt;
        bytes32 contentHash;
    }

    /// @notice The hash of a round's evaluation set, committed by the model's owner before the round.
    /// @param committer The owner who committed it: a later owner may replace a predecessor's commitment
    /// that no submitted round has used (issue 24, N-1).
    struct EvaluationCommitment {
        bytes32 evalHash;
        uint64 committedAt;
        address committer;
    }

    /// @notice One item of a batch registration; `salt` is the one its commitment was made with.
    struct ContributionInput {
        ContributionKind kind;
        bytes32 contentHash;
        string uri;
        bytes32 salt;
    }

    /// @notice One registration of a relayed batch, signed by its contributor exactly as for
    /// {registerContributionFor} (the same EIP-712 `RegisterContribution` message, with the batch's model id
    /// and the contributor's nonce at the entry's turn).
    struct SignedContribution {
        ContributionKind kind;
        bytes32 contentHash;
        string uri;
        bytes32 salt;
        address contributor;
        uint256 deadline;
        bytes signature;
    }

    /* EVENTS */

    /// @notice Emitted once, when the admin names the stake minter (the reward distributor).
    event StakeMinterSet(address indexed minter);

    /// @notice Emitted once, when the admin names the contract that takes and holds contribution bonds (issue 23).
    event BondVaultSet(address indexed bondVault);

    /// @notice Emitted when a model is registered and its stake token deployed.
    event ModelRegistered(
        uint256 indexed modelId,
        address indexed owner,
        address stakeToken,
        address paymentToken,
        uint16 contributorShareBps,
        uint96 emissionPerRound,
        uint96 maxEmission,
        bytes32 specHash,
        string specURI,
        string name,
        string symbol
    );

    /// @notice Emitted when a hiding commitment to a future registration is recorded.
    event ContributionCommitted(bytes32 indexed commitment, address indexed committer);

    /// @notice Emitted when a contribution is registered (directly, by signature or in a batch).
    event ContributionRegistered(
        uint256 indexed contributionId,
        uint256 indexed modelId,
        address indexed contributor,
        ContributionKind kind,
        bytes32 contentHash,
        string uri
    );

    /// @notice Emitted when a contributor withdraws a contribution from future rounds.
    event ContributionWithdrawn(uint256 indexed contributionId, uint256 indexed modelId, address indexed contributor);

    /// @notice Emitted when `contributor` becomes the holder of `contentHash` in every model: its first
    /// registration anywhere, or one whose commitment (from block `committedAt`) is older than the holder's (N-3).
    event ContentClaimed(bytes32 indexed contentHash, address indexed contributor, uint256 committedAt);

    /// @notice Emitted when entry `index` (from 0) of a {registerContributionsFor} batch is skipped because its
    /// contributor already holds its content in the model as `contributionId` (someone registered that entry, or
    /// the contributor did, before the batch landed): the rest of the batch goes through (issue 24, N-2).
    event BatchEntrySkipped(
        uint256 indexed modelId, uint256 index, address indexed contributor, uint256 indexed contributionId
    );

    /// @notice Emitted when `contributionId` loses its content to `byContributionId`, whose commitment is older.
    event ContributionDisplaced(
        uint256 indexed contributionId, uint256 indexed byContributionId, uint256 indexed modelId
    );

    /// @notice Emitted when a model's owner names `newOwner`, who must accept (zero cancels).
    event ModelOwnershipTransferStarted(uint256 indexed modelId, address indexed owner, address indexed newOwner);

    /// @notice Emitted when `newOwner` accepts a model's ownership.
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed previousOwner, address indexed newOwner);

    /// @notice Emitted when `payer` pays `amount` of usage fees for a model.
    event UsagePaid(
        uint256 indexed modelId, address indexed payer, uint256 amount, uint256 ownerAmount, uint256 holdersAmount
    );

    /// @notice Emitted when `amount` of `token`, the owner's share of a usage payment for `modelId`, is credited
    /// to `owner`'s balance in the registry (withdrawn with {withdrawOwnerFees}).
    event OwnerFeesCredited(uint256 indexed modelId, address indexed owner, address indexed token, uint256 amount);

    /// @notice Emitted when `owner` withdraws its whole `amount` of `token` fees, sent to `to`.
    event OwnerFeesWithdrawn(address indexed owner, address indexed token, address indexed to, uint256 amount);

    /* ERRORS */

    /// @notice Thrown when the stake minter is already set to `minter`.
    error ContributionRegistryStakeMinterAlreadySet(address minter);
    /// @notice Thrown when the bond vault is already set to `bondVault`.
    error ContributionRegistryBondVaultAlreadySet(address bondVault);
    /// @notice Thrown when a model is registered before the stake minter is set.
    error ContributionRegistryStakeMinterNotSet();
    /// @notice Thrown when an address argument is zero.
    error ContributionRegistryZeroAddress();
    /// @notice Thrown when a fee share is above 10,000 basis points.
    error ContributionRegistryInvalidShare(uint16 contributorShareBps);
    /// @notice Thrown when the emission policy is empty or a round may mint more than the maximum.
    error ContributionRegistryInvalidEmissionPolicy(uint96 emissionPerRound, uint96 maxEmission);
    /// @notice Thrown when `modelId` does not exist.
    error ContributionRegistryUnknownModel(uint256 modelId);
    /// @notice Thrown when `contributionId` does not exist.
    error ContributionRegistryUnknownContribution(uint256 contributionId);
    /// @notice Thrown when a content hash is zero.
    error ContributionRegistryZeroContentHash();
    /// @notice Thrown when `contentHash` is already registered for `modelId` as `existingId`.
    error ContributionRegistryDuplicateContent(uint256 modelId, bytes32 contentHash, uint256 existingId);
    /// @notice Thrown when another contributor, `holder`, registered `contentHash` (in any model) with a commitment
    /// from block `committedAt`, no later than this registration's: the earliest commitment to a content keeps it
    /// in every model (issue 24, N-3).
    error ContributionRegistryContentClaimed(bytes32 contentHash, address holder, uint256 committedAt);
    /// @notice Thrown when a registration has no commitment from an earlier block (`committedAt` 0: none).
    error ContributionRegistryNotCommitted(bytes32 commitment, uint256 committedAt);
    /// @notice Thrown when a batch is empty.
    error ContributionRegistryEmptyBatch();
    /// @notice Thrown when a commitment is older than {REVEAL_PERIOD_BLOCKS}; commit again.
    error ContributionRegistryCommitmentExpired(bytes32 commitment, uint256 committedAt);
    /// @notice Thrown when `caller` accepts a model's ownership without being its pending owner.
    error ContributionRegistryNotPendingModelOwner(uint256 modelId, address caller);
    /// @notice Thrown when a signed registration's deadline has passed.
    error ContributionRegistryExpiredSignature(uint256 deadline);
    /// @notice Thrown when a registration signature does not come from `contributor`.
    error ContributionRegistryInvalidSignature(address contributor);
    /// @notice Thrown when `caller` withdraws a contribution it did not make.
    error ContributionRegistryNotContributor(uint256 contributionId, address caller);
    /// @notice Thrown when a contribution is already withdrawn.
    error ContributionRegistryAlreadyWithdrawn(uint256 contributionId);
    /// @notice Thrown when a usage payment is zero.
    error ContributionRegistryZeroPayment();
    /// @notice Thrown when `owner` withdraws owner fees in `token` but has none.
    error ContributionRegistryNoOwnerFees(address owner, address token);
    /// @notice Thrown when owner fees would be withdrawn to the zero address or to the registry itself.
    error ContributionRegistryInvalidFeeRecipient(address to);
    /// @notice Thrown when entry `index` (from 0) of a {registerContributionsFor} batch is invalid; `reason` is
    /// the error that entry alone would revert with (an encoded custom error). Nothing of the batch is kept.
    error ContributionRegistryBatchEntryInvalid(uint256 index, bytes reason);

    /// @notice Emitted when a model's owner commits the keccak256 hash of round `roundId`'s evaluation set.
    event EvaluationCommitted(uint256 indexed modelId, uint256 indexed roundId, bytes32 evalHash);
    /// @notice Emitted when a model's owner publishes where round `roundId`'s evaluation set can be read.
    event EvaluationRevealed(uint256 indexed modelId, uint256 indexed roundId, bytes32 evalHash, string uri);
    /// @notice Emitted (with {EvaluationCommitted} for the new hash) when a new owner replaces the evaluation
    /// commitment a previous owner made for round `roundId`.
    event EvaluationReplaced(
        uint256 indexed modelId, uint256 indexed roundId, bytes32 previousEvalHash, bytes32 evalHash, address owner
    );

    /// @notice Thrown when someone other than a model's owner acts for it.
    error ContributionRegistryNotModelOwner(uint256 modelId, address caller);
    /// @notice Thrown when an evaluation commitment is the zero hash or names round 0.
    error ContributionRegistryInvalidEvaluation(uint256 roundId, bytes32 evalHash);
    /// @notice Thrown when a round's evaluation set is committed a second time.
    error ContributionRegistryEvaluationAlreadyCommitted(uint256 modelId, uint256 roundId, bytes32 evalHash);
    /// @notice Thrown when an evaluation set is revealed before it was committed.
    error ContributionRegistryEvaluationNotCommitted(uint256 modelId, uint256 roundId);
    /// @notice Thrown when an evaluation set is committed for a round other than the model's next
    /// (`nextRoundId`, the last final round + 1) or the one after it.
    error ContributionRegistryEvaluationRoundOutOfRange(uint256 modelId, uint256 roundId, uint256 nextRoundId);
    /// @notice Thrown when a new owner would replace the commitment the model's pending round was submitted on.
    error ContributionRegistryEvaluationInUse(uint256 modelId, uint256 roundId);

    /* VIEWS */

    function stakeMinter() external view returns (address);
    /// @notice The contract that takes a model's bond at every registration and holds it ({IContributionBonds}),
    /// or zero: then no registration posts a bond.
    function bondVault() external view returns (address);
    function modelCount() external view returns (uint256);
    function contributionCount() external view returns (uint256);
    function getModel(uint256 modelId) external view returns (Model memory);
    function getContribution(uint256 contributionId) external view returns (Contribution memory);
    /// @notice The contribution id holding `contentHash` for `modelId`, or 0 if none.
    function contributionByContent(uint256 modelId, bytes32 contentHash) external view returns (uint256);
    /// @notice Who holds `contentHash` across all models (the registrant with the earliest commitment to it),
    /// and that commitment's block; (0, 0) if it was never registered.
    function contentClaim(bytes32 contentHash) external view returns (address holder, uint256 committedAt);
    /// @notice The address a model's owner named to take over, or 0.
    function pendingModelOwner(uint256 modelId) external view returns (address);
    /// @notice The commitment a registration must be preceded by: keccak256 of (chain id, this registry,
    /// modelId, contributor, kind, contentHash, salt). It hides the content hash until registration.
    function contributionCommitment(
        uint256 modelId,
        address contributor,
        ContributionKind kind,
        bytes32 contentHash,
        bytes32 salt
    ) external view returns (bytes32);
    /// @notice The block `commitment` was made in, or 0.
    function commitmentBlock(bytes32 commitment) external view returns (uint256);
    /// @notice The next nonce `contributor` must sign for {registerContributionFor}.
    function nonces(address contributor) external view returns (uint256);
    /// @notice Round `roundId`'s committed evaluation-set hash and its block; zeros if not committed.
    function evaluationCommitment(uint256 modelId, uint256 roundId) external view returns (EvaluationCommitment memory);
    /// @notice The usage fees in `token` credited to `owner` as a model owner and not withdrawn yet.
    function ownerFees(address owner, address token) external view returns (uint256);

    /* ACTIONS */

    /// @notice Names the contract allowed to mint stake in every model registered afterwards. Once.
    /// @dev Requirements: caller has DEFAULT_ADMIN_ROLE; not set before. Emits {StakeMinterSet}.
    function setStakeMinter(address minter) external;

    /// @notice Names the contract that takes and holds contribution bonds. Once: a registration's bond then goes
    /// only where the contributor approved it to go.
    /// @dev Requirements: caller has DEFAULT_ADMIN_ROLE; `bondVault` is not zero; not set before. Emits {BondVaultSet}.
    function setBondVault(address bondVault) external;

    /// @notice Registers a model owned by the caller and deploys its stake token. Ids start at 1.
    /// @dev Emits {ModelRegistered}.
    function registerModel(ModelParams calldata params) external returns (uint256 modelId);

    /// @notice Records hiding commitments (see {contributionCommitment}); anyone may post them, since each
    /// binds its contributor. A registration needs its commitment mined in an earlier block, so a content
    /// hash seen in a pending registration cannot be registered first by someone else.
    /// A commitment already recorded keeps its first block and is skipped.
    /// @dev Emits {ContributionCommitted} for each new one.
    function commitContributions(bytes32[] calldata commitments) external;

    /// @notice Registers a contribution by the caller, revealing a commitment from an earlier block. Ids
    /// start at 1. The earliest commitment to a content hash wins it, in its model (an older commitment
    /// displaces a younger one's unsettled registration) and in every other model: once a contributor
    /// registered a content hash anywhere, nobody with a later commitment can register it in any model, and
    /// the contributor's own later registrations in other models count from its earliest commitment (N-3).
    /// When the model requires a bond, the bond vault takes it from the contributor ({IContributionBonds-postBonds});
    /// the same holds for every registration path below (for a relayed batch, a failed bond fails its entry).
    /// @dev Emits {ContributionRegistered}, and {ContributionDisplaced} when it takes an unsettled registration's place.
    function registerContribution(
        uint256 modelId,
        ContributionKind kind,
        bytes32 contentHash,
        string calldata uri,
        bytes32 salt
    ) external returns (uint256 contributionId);

    /// @notice Registers several contributions by the caller to one model.
    function registerContributions(uint256 modelId, ContributionInput[] calldata inputs)
        external
        returns (uint256 firstContributionId);

    /// @notice Registers a contribution on behalf of `contributor`, who signed it (EIP-712, or ERC-1271
    /// for contract wallets); the caller only pays the gas.
    function registerContributionFor(
        uint256 modelId,
        ContributionKind kind,
        bytes32 contentHash,
        string calldata uri,
        bytes32 salt,
        address contributor,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 contributionId);

    /// @notice Registers many contributions to one model, each signed by its contributor (EIP-712, or
    /// ERC-1271), in one transaction; the caller only pays the gas. Entry by entry it makes exactly the
    /// checks and emits exactly the events of {registerContributionFor} (deadline, signature over the
    /// contributor's current nonce, commitment from an earlier block within {REVEAL_PERIOD_BLOCKS}, content
    /// priority by commitment age with displacement), in order, as if each were a call of its own in this
    /// block: two entries of one contributor sign consecutive nonces, and a later entry with an older
    /// commitment to the same content displaces an earlier one.
    /// @dev An entry whose contributor already holds its content in the model is skipped with
    /// {BatchEntrySkipped}: copying one entry out of a pending batch and registering it first no longer voids
    /// the batch (issue 24, N-2). Any other invalid entry reverts the whole batch with
    /// {ContributionRegistryBatchEntryInvalid}(index, the entry's own error), so a relayer drops that entry and
    /// sends the rest again. Requirements: the model exists; the batch is not empty.
    /// Emits {ContributionRegistered} (and {ContributionDisplaced} where it applies) per registered entry.
    function registerContributionsFor(uint256 modelId, SignedContribution[] calldata registrations)
        external
        returns (uint256 firstContributionId);

    /// @notice Commits the keccak256 hash of the evaluation set round `roundId` of the model will be
    /// valued on. Oracles propose and sign a round only on the committed set, and the owner reveals it
    /// after the round, so anyone can recompute the round and copies of it earn nothing later. Once per
    /// round: a set cannot be swapped after contributors registered against it.
    /// Only the model's next round (its last final round + 1, as the stake minter reports it) or the one after
    /// can be committed, so nobody can fill far-future rounds with sets only it knows. A commitment made by a
    /// previous owner (for example junk committed while the model was being sold, N-1) can be replaced by the
    /// current owner while no pending round was submitted on it.
    /// @dev Requirements: caller owns the model; `roundId` > 0; `evalHash` != 0; `roundId` is the next round
    /// or the one after; not committed before, unless by a previous owner and not used by the pending round.
    /// Emits {EvaluationCommitted}, and {EvaluationReplaced} when it replaces a previous owner's commitment.
    function commitEvaluation(uint256 modelId, uint256 roundId, bytes32 evalHash) external;

    /// @notice Announces where round `roundId`'s committed evaluation set is published (anyone checks
    /// that the file hashes to the commitment).
    /// @dev Requirements: caller owns the model; the round's set is committed. Emits {EvaluationRevealed}.
    function revealEvaluation(uint256 modelId, uint256 roundId, string calldata uri) external;

    /// @notice Names `newOwner` as the model's next owner (zero cancels); ownership moves when it accepts,
    /// so a typo can never lose a model, and a blacklisted owner can hand the model on (audit I-3).
    /// @dev Requirements: caller is the model's owner. Emits {ModelOwnershipTransferStarted}.
    function transferModelOwnership(uint256 modelId, address newOwner) external;

    /// @notice Accepts ownership of a model that its owner offered to the caller.
    /// @dev Emits {ModelOwnershipTransferred}.
    function acceptModelOwnership(uint256 modelId) external;

    /// @notice Withdraws one of the caller's contributions from future attribution rounds, and tells the bond
    /// vault, which gives a held bond back once a round after the model's next one is final.
    /// @dev Emits {ContributionWithdrawn}.
    function withdrawContribution(uint256 contributionId) external;

    /// @notice Pulls `amount` of the model's payment token from the caller and splits it between the
    /// model owner and the stake holders by the model's `contributorShareBps` (holders rounded down). The
    /// owner's share is credited to the owner's balance here, not sent: an owner the payment token refuses
    /// (a blacklist, a reverting hook) cannot block usage payments. The credit is what arrived.
    /// @dev Emits {UsagePaid}, and {OwnerFeesCredited} when the owner's share is not zero.
    function payUsage(uint256 modelId, uint256 amount) external;

    /// @notice Sends the caller all its owner fees in `token` to `to` (the caller itself, or another address
    /// if the token refuses the caller); returns the amount. Credits stay with the account that owned the
    /// model when each payment was made, whoever owns it later.
    /// @dev Requirements: the caller has owner fees in `token`; `to` is neither the zero address nor the registry.
    /// Emits {OwnerFeesWithdrawn}.
    function withdrawOwnerFees(address token, address to) external returns (uint256 amount);
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IContributionRegistry} from "./IContributionRegistry.sol";

/// @title IContributionBonds
/// @notice Contribution bonds (issue 23): a model's owner may require every registration to post a bond in the
/// model's payment token. The registry has this contract take it from the contributor at registration (the
/// contributor approves this contract). Only a final round decides a bond, once, through the bond-decisions
/// root the oracles sign in the round ({IRewardDistributor-bondsRoot}): released (its contributor claims it) or
/// forfeited (paid to the model's stake token and credited to its holders as fees). A contribution withdrawn
/// before a round values it gets its bond back. Bonds held = posted - released - forfeited, to the unit: a
/// payment token that delivers less than the bond (a fee-on-transfer token) cannot post one.
interface IContributionBonds {
    /* TYPES */

    /// @notice Where a contribution's bond stands (issue 23). `Held` until a final round decides it, once:
    /// `Released` (its contributor claims it back) or `Forfeited` (credited to the model's stake holders as fees).
    /// `Paid` once the contributor claimed a released bond, or the refund of a withdrawn contribution's.
    enum BondStatus {
        None,
        Held,
        Released,
        Forfeited,
        Paid
    }

    /// @notice A decision in a round's bonds tree; its numeric value is the leaf's `uint8 decision`.
    enum BondDecision {
        None,
        Release,
        Forfeit
    }

    /// @notice One contribution's bond, in the model's payment token.
    /// @param amount What was posted with the registration.
    /// @param forfeitableUntilRound 0 unless the contribution was withdrawn; then the last round that may
    /// still forfeit the bond (the model's next round when it was withdrawn): a later round can only release it,
    /// and once a later round is final the contributor takes it back with {claimBond}.
    struct Bond {
        uint96 amount;
        uint64 forfeitableUntilRound;
        BondStatus status;
    }

    /// @notice A model's bond policy: `amount` per contribution now; a raise to `pendingAmount` takes effect
    /// at block `pendingFrom` (0: none pending).
    struct BondPolicy {
        uint96 amount;
        uint96 pendingAmount;
        uint64 pendingFrom;
    }

    /// @notice A contributor's EIP-2612 permit for this vault, sent by a relayer with the contributor's signed
    /// registration ({registerContributionForWithPermit}): `permit(contributor, vault, value, deadline, v, r, s)` on
    /// the model's payment token. `deadline == 0` stands for no permit (the contributor approved the vault itself).
    struct BondPermit {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice One decision of {applyBondDecisions}, with its proof against the round's `bondsRoot`.
    struct BondDecisionInput {
        uint256 contributionId;
        BondDecision decision;
        bytes32[] proof;
    }

    /* EVENTS */

    /// @notice Emitted when a model's owner sets its bond per contribution: `amount` applies from block
    /// `effectiveFrom` (at once for a cut, after {BOND_RAISE_DELAY_BLOCKS} for a raise).
    event BondPolicySet(uint256 indexed modelId, uint96 amount, uint256 effectiveFrom);

    /// @notice Emitted when `contributor` posts `amount` of the model's payment token as the bond of a registration.
    event BondPosted(uint256 indexed contributionId, uint256 indexed modelId, address indexed contributor, uint256 amount);

    /// @notice Emitted when final round `roundId` releases a bond: its contributor may claim it.
    event BondReleased(uint256 indexed contributionId, uint256 indexed roundId, address indexed contributor, uint256 amount);

    /// @notice Emitted when final round `roundId` forfeits a bond to the model's stake holders.
    event BondForfeited(uint256 indexed contributionId, uint256 indexed roundId, uint256 indexed modelId, uint256 amount);

    /// @notice Emitted when a contribution with a held bond is withdrawn: rounds after `forfeitableUntilRound`
    /// can no longer forfeit it, and once one of them is final the contributor takes the bond back.
    event BondRefundScheduled(uint256 indexed contributionId, uint256 forfeitableUntilRound);

    /// @notice Emitted when a relayer hands in `contributor`'s EIP-2612 permit of `value` for this vault in the
    /// model's payment token `token`: `accepted` is whether the token took it now. A permit someone already
    /// submitted (front-run) or one that is invalid is not accepted; the bond's transfer then decides, against
    /// whatever allowance the contributor gave.
    event BondPermitUsed(address indexed contributor, address indexed token, uint256 value, uint256 deadline, bool accepted);

    /// @notice Emitted when `contributor` takes back `amount`: a released bond, or a withdrawn contribution's.
    event BondClaimed(uint256 indexed contributionId, address indexed contributor, uint256 amount, bool refund);

    /* ERRORS */

    /// @notice Thrown when `caller` is not the registry (only it posts bonds and reports withdrawals).
    error ContributionBondsNotRegistry(address caller);
    /// @notice Thrown when someone other than a model's owner sets its bond policy.
    error ContributionBondsNotModelOwner(uint256 modelId, address caller);
    /// @notice Thrown when `caller` claims the bond of a contribution it did not make.
    error ContributionBondsNotContributor(uint256 contributionId, address caller);
    /// @notice Thrown when a model's owner sets the bond policy it already has (or already has pending).
    error ContributionBondsPolicyUnchanged(uint256 modelId, uint96 amount);
    /// @notice Thrown when the bond of a registration cannot be taken from `contributor` (allowance, balance, or
    /// a token that refused): the contributor approves this contract for the model's bond first.
    error ContributionBondsTransferFailed(address contributor, uint256 amount);
    /// @notice Thrown when a relayed batch comes with a number of permits other than its number of registrations
    /// (one permit, or an empty one, per entry).
    error ContributionBondsPermitCountMismatch(uint256 registrations, uint256 permits);
    /// @notice Thrown when a payment token delivered `received` of a bond of `amount` (a fee-on-transfer token):
    /// bonds must be held to the unit.
    error ContributionBondsShortfall(uint256 amount, uint256 received);
    /// @notice Thrown when round `roundId` of `modelId` has no final bonds root (pending, vetoed, decides no
    /// bond, or does not exist): only a final round decides a bond.
    error ContributionBondsRootNotFinal(uint256 modelId, uint256 roundId);
    /// @notice Thrown when a decision is applied through a model that `contributionId` does not belong to.
    error ContributionBondsNotInModel(uint256 contributionId, uint256 modelId);
    /// @notice Thrown when `contributionId` has no bond, or a decision is neither release nor forfeit.
    error ContributionBondsNoBond(uint256 contributionId);
    /// @notice Thrown when a proof does not show `(contributionId, decision)` in round `roundId`'s bonds root.
    error ContributionBondsInvalidProof(uint256 roundId, uint256 contributionId, BondDecision decision);
    /// @notice Thrown when round `roundId` forfeits the bond of a contribution withdrawn before it (only rounds up to
    /// `forfeitableUntilRound` may, and only while no later round is final: `finalRoundId`).
    error ContributionBondsNotForfeitable(
        uint256 contributionId, uint256 roundId, uint256 forfeitableUntilRound, uint256 finalRoundId
    );
    /// @notice Thrown when a bond cannot be claimed: not released, and not a withdrawn contribution's whose
    /// refund round (`refundAfterRound`, 0: not withdrawn) is final; `finalRoundId` is the model's latest final round.
    error ContributionBondsNotClaimable(
        uint256 contributionId, BondStatus status, uint256 refundAfterRound, uint256 finalRoundId
    );

    /* VIEWS */

    /// @notice The registry whose contributions these bonds belong to.
    function registry() external view returns (address);
    /// @notice The model's bond policy, with a raise still pending.
    function bondPolicy(uint256 modelId) external view returns (BondPolicy memory);
    /// @notice The bond a registration in `modelId` posts now (0: none).
    function bondAmount(uint256 modelId) external view returns (uint256);
    /// @notice `contributionId`'s bond (all zero if it posted none).
    function bondOf(uint256 contributionId) external view returns (Bond memory);

    /* ACTIONS */

    /// @notice Sets the bond every later registration in the model posts, in its payment token (0: none). A cut
    /// applies at once; a raise only after {BOND_RAISE_DELAY_BLOCKS} blocks, longer than a commitment can wait
    /// to be revealed, so no registration pays more than the bond in force when its contribution was committed
    /// (an owner cannot raise the bond under a pending registration). Bonds already posted keep their amount.
    /// @dev Requirements: caller owns the model; `amount` differs from the bond in force (or the pending raise).
    /// Emits {BondPolicySet}.
    function setBondPolicy(uint256 modelId, uint96 amount) external;

    /// @notice Records the model's current bond for the `count` contributions from `firstContributionId`, all
    /// by `contributor`, and takes their sum from it (one transfer).
    /// @dev Requirements: caller is the registry, the contributions are registered; the contributor approved this
    /// contract for the sum and the token delivers all of it. Emits {BondPosted} per contribution.
    function postBonds(uint256 modelId, uint256 firstContributionId, uint256 count, address contributor) external;

    /// @notice Called by the registry when a contribution is withdrawn: a held bond stays forfeitable by the
    /// model's next round (`nextRoundId`, which may already value it) and by no later one.
    /// @dev Requirements: caller is the registry. Emits {BondRefundScheduled} when a bond is held.
    function onContributionWithdrawn(uint256 contributionId, uint256 nextRoundId) external;

    /// @notice Applies the bond decisions of the model's final round `roundId`: each leaf
    /// `(uint256 contributionId, uint8 decision)` of the round's bonds tree (OpenZeppelin StandardMerkleTree,
    /// double-hashed) releases a bond to its contributor (who claims it) or forfeits it to the stake holders (paid to
    /// the stake token and credited through its fee accumulator, once for the whole call). Anyone may send it.
    /// Bonds no longer held (decided by an earlier call or round) are skipped, so nobody can void a batch by
    /// applying one of its decisions first.
    /// @dev Requirements: round `roundId` is final with a bonds root; each entry's contribution is in the model,
    /// has a bond, and its proof holds; a forfeit of a withdrawn contribution comes from a round up to its
    /// `forfeitableUntilRound` while no later round is final.
    /// Emits {BondReleased} or {BondForfeited} per decided bond.
    function applyBondDecisions(uint256 modelId, uint256 roundId, BondDecisionInput[] calldata decisions) external;

    /// @notice {IContributionRegistry-registerContributionFor} in one transaction with the contributor's EIP-2612
    /// permit for the bond (`permit`), so a contributor with no ETH for an `approve` gets a bonded contribution
    /// registered by a relayer. The permit is tried and its failure ignored (OpenZeppelin's front-run-safe use of
    /// {IERC20Permit-permit}: someone may have submitted it first); the registry then has this vault take the bond,
    /// and that transfer decides. The bond is taken from the contributor who signed the registration only, and is
    /// never more than the model's bond, whatever the permit allows. The permit is skipped when the model never had
    /// a bond policy (no payment token known here).
    /// @dev Requirements: as {IContributionRegistry-registerContributionFor}. Emits {BondPermitUsed}, then the
    /// registry's and this vault's events of the registration.
    function registerContributionForWithPermit(
        uint256 modelId,
        IContributionRegistry.SignedContribution calldata registration,
        BondPermit calldata permit
    ) external returns (uint256 contributionId);

    /// @notice {IContributionRegistry-registerContributionsFor} in one transaction with the contributors'
    /// EIP-2612 permits: `permits[i]` is entry i's contributor's (`deadline == 0`: none; a contributor with several
    /// entries signs one permit for their sum, on one entry). Each permit is tried as in
    /// {registerContributionForWithPermit}; an entry whose bond cannot be taken fails by its index.
    /// @dev Requirements: as {IContributionRegistry-registerContributionsFor}; one permit per registration.
    /// Emits {BondPermitUsed} per permit given.
    function registerContributionsForWithPermits(
        uint256 modelId,
        IContributionRegistry.SignedContribution[] calldata registrations,
        BondPermit[] calldata permits
    ) external returns (uint256 firstContributionId);

    /// @notice Pays the caller, the contributor, its released bond, or the bond of its withdrawn contribution once
    /// a round after the contribution's `forfeitableUntilRound` is final and no round forfeited it.
    /// @dev Requirements: caller is the contributor; the bond is released, or refundable as said. Emits {BondClaimed}.
    function claimBond(uint256 contributionId) external returns (uint256 amount);
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IContributionBonds} from "./interfaces/IContributionBonds.sol";
import {IContributionRegistry} from "./interfaces/IContributionRegistry.sol";
import {IModelStakeToken} from "./interfaces/IModelStakeToken.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";

/// @title ContributionBonds
/// @notice Holds contribution bonds (issue 23). The registry has it take a model's bond at every registration;
/// final rounds decide each bond once (release or forfeit) through the bonds root the oracles signed; contributors
/// pull released bonds and the bonds of contributions they withdrew.
/// @dev A separate contract because the registry, which deploys every stake token, has no room left under
/// EIP-170. It holds nothing but bonds: its balance of a payment token is the bonds held plus the bonds released
/// and not yet claimed, in that token. Rounds and the stake token are read from the registry's stake minter
/// (the reward distributor), which keeps the final bonds roots.
/// Relayed registrations with an EIP-2612 permit ({registerContributionForWithPermit}) enter here too, not in the
/// registry: the registry's runtime code is 23,303 of EIP-170's 24,576 bytes, and a permit per entry there would
/// change its two relayed functions for every caller; this vault is the permit's spender, knows the model's
/// payment token, and has room. It tries the permit, then calls the registry, which checks the contributor's
/// signed registration and has this vault take the bond as for any registration.
contract ContributionBonds is IContributionBonds, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /* CONSTANTS AND IMMUTABLES */

    /// @notice Blocks before a raise of a model's bond takes effect: one more than the registry's reveal period, so
    /// a registration never pays a bond raised after its contribution was committed.
    uint256 public constant BOND_RAISE_DELAY_BLOCKS = 257;

    IContributionRegistry private immutable _registry;

    /* STORAGE */

    mapping(uint256 modelId => BondPolicy) private _policies;
    mapping(uint256 contributionId => Bond) private _bonds;
    /// @dev Each model's payment token (fixed at its registration), cached when its owner first sets a policy, so a
    /// registration with a bond reads one slot instead of calling the registry for the whole model.
    mapping(uint256 modelId => IERC20) private _paymentTokens;

    /* CONSTRUCTOR */

    constructor(IContributionRegistry registry_) {
        _registry = registry_;
    }

    /* VIEWS */

    /// @inheritdoc IContributionBonds
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IContributionBonds
    function bondPolicy(uint256 modelId) external view returns (BondPolicy memory) {
        return _policies[modelId];
    }

    /// @inheritdoc IContributionBonds
    function bondAmount(uint256 modelId) public view returns (uint256) {
        BondPolicy memory policy = _policies[modelId];
        return policy.pendingFrom != 0 && block.number >= policy.pendingFrom ? policy.pendingAmount : policy.amount;
    }

    /// @inheritdoc IContributionBonds
    function bondOf(uint256 contributionId) external view returns (Bond memory) {
        return _bonds[contributionId];
    }

    /* EXTERNAL */

    /// @inheritdoc IContributionBonds
    // Policy amounts and block numbers compared with what the owner asks for, not balances (slither false positive).
    // slither-disable-next-line incorrect-equality
    function setBondPolicy(uint256 modelId, uint96 amount) external {
        IContributionRegistry.Model memory model = _registry.getModel(modelId);
        if (model.owner != msg.sender) revert ContributionBondsNotModelOwner(modelId, msg.sender);
        if (address(_paymentTokens[modelId]) == address(0)) _paymentTokens[modelId] = IERC20(model.paymentToken);
        BondPolicy memory policy = _policies[modelId];
        if (policy.pendingFrom != 0 && block.number >= policy.pendingFrom) {
            policy = BondPolicy({amount: policy.pendingAmount, pendingAmount: 0, pendingFrom: 0}); // a raise in force
        }
        if (policy.pendingFrom == 0 ? amount == policy.amount : amount == policy.pendingAmount) {
            revert ContributionBondsPolicyUnchanged(modelId, amount);
        }
        uint256 effectiveFrom = block.number;
        if (amount <= policy.amount) {
            // A cut only helps contributors: at once, and it cancels a pending raise.
            policy = BondPolicy({amount: amount, pendingAmount: 0, pendingFrom: 0});
        } else {
            effectiveFrom = block.number + BOND_RAISE_DELAY_BLOCKS;
            policy.pendingAmount = amount;
            policy.pendingFrom = uint64(effectiveFrom);
        }
        _policies[modelId] = policy;
        emit BondPolicySet(modelId, amount, effectiveFrom);
    }

    /// @inheritdoc IContributionBonds
    // `amount == 0` is the model's policy (no bond), not a balance (slither false positive).
    // slither-disable-next-line incorrect-equality
    function postBonds(uint256 modelId, uint256 firstContributionId, uint256 count, address contributor)
        external
        nonReentrant
    {
        if (msg.sender != address(_registry)) revert ContributionBondsNotRegistry(msg.sender);
        uint256 amount = bondAmount(modelId);
        if (amount == 0) return; // no bond policy: registration as before
        uint256 end = firstContributionId + count;
        for (uint256 id = firstContributionId; id < end; ++id) {
            // Fits: a policy amount is a uint96.
            _bonds[id] = Bond({amount: uint96(amount), forfeitableUntilRound: 0, status: BondStatus.Held});
            emit BondPosted(id, modelId, contributor, amount);
        }
        // Effects first, then the one transfer (checks-effects-interactions; the registry is nonReentrant too).
        uint256 total = amount * count;
        IERC20 token = _paymentTokens[modelId]; // set: a model with a bond has had a policy set
        uint256 before = token.balanceOf(address(this));
        if (!token.trySafeTransferFrom(contributor, address(this), total)) {
            revert ContributionBondsTransferFailed(contributor, total);
        }
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != total) revert ContributionBondsShortfall(total, received);
    }

    /// @inheritdoc IContributionBonds
    // Not nonReentrant: the registry calls back {postBonds} (nonReentrant itself) within this call. The permit goes
    // first and touches no state of this vault; the registry is nonReentrant and checks the contributor's signature.
    function registerContributionForWithPermit(
        uint256 modelId,
        IContributionRegistry.SignedContribution calldata registration,
        BondPermit calldata permit
    ) external returns (uint256 contributionId) {
        address contributor = registration.contributor;
        if (permit.deadline != 0) _tryPermit(modelId, contributor, permit);
        return _registry.registerContributionFor(
            modelId,
            registration.kind,
            registration.contentHash,
            registration.uri,
            registration.salt,
            contributor,
            registration.deadline,
            registration.signature
        );
    }

    /// @inheritdoc IContributionBonds
    // Not nonReentrant, as {registerContributionForWithPermit}.
    function registerContributionsForWithPermits(
        uint256 modelId,
        IContributionRegistry.SignedContribution[] calldata registrations,
        BondPermit[] calldata permits
    ) external returns (uint256 firstContributionId) {
        if (permits.length != registrations.length) {
            revert ContributionBondsPermitCountMismatch(registrations.length, permits.length);
        }
        for (uint256 i = 0; i < permits.length; ++i) {
            if (permits[i].deadline != 0) _tryPermit(modelId, registrations[i].contributor, permits[i]);
        }
        return _registry.registerContributionsFor(modelId, registrations);
    }

    /// @inheritdoc IContributionBonds
    function onContributionWithdrawn(uint256 contributionId, uint256 nextRoundId) external {
        if (msg.sender != address(_registry)) revert ContributionBondsNotRegistry(msg.sender);
        Bond storage bond = _bonds[contributionId];
        if (bond.status != BondStatus.Held) return;
        // The model's next round may already value the contribution (it may be pending, or proposed from a snapshot
        // taken before the withdrawal): it may still forfeit the bond; no later round can.
        bond.forfeitableUntilRound = uint64(nextRoundId);
        emit BondRefundScheduled(contributionId, nextRoundId);
    }

    /// @inheritdoc IContributionBonds
    function applyBondDecisions(uint256 modelId, uint256 roundId, BondDecisionInput[] calldata decisions)
        external
        nonReentrant
    {
        address distributor = _registry.stakeMinter();
        bytes32 root = IRewardDistributor(distributor).bondsRoot(modelId, roundId);
        if (root == bytes32(0)) revert ContributionBondsRootNotFinal(modelId, roundId);
        uint256 forfeited = 0;
        for (uint256 i = 0; i < decisions.length; ++i) {
            forfeited += _applyBondDecision(distributor, modelId, roundId, root, decisions[i]);
        }
        if (forfeited != 0) {
            IContributionRegistry.Model memory model = _registry.getModel(modelId);
            IERC20(model.paymentToken).safeTransfer(model.stakeToken, forfeited);
            // Credited to the stake holders like their share of a usage fee (FeesAccrued/FeesHeld say how much).
            // slither-disable-next-line unused-return
            IModelStakeToken(model.stakeToken).accrueFees();
        }
    }

    /// @inheritdoc IContributionBonds
    function claimBond(uint256 contributionId) external nonReentrant returns (uint256 amount) {
        IContributionRegistry.Contribution memory contribution = _registry.getContribution(contributionId);
        if (contribution.contributor != msg.sender) revert ContributionBondsNotContributor(contributionId, msg.sender);
        Bond storage bond = _bonds[contributionId];
        BondStatus status = bond.status;
        bool refund = false;
        if (status != BondStatus.Released) {
            uint256 until = bond.forfeitableUntilRound;
            uint256 finalRoundId = _finalRoundId(_registry.stakeMinter(), contribution.modelId);
            if (status != BondStatus.Held || until == 0 || finalRoundId <= until) {
                revert ContributionBondsNotClaimable(contributionId, status, until == 0 ? 0 : until + 1, finalRoundId);
            }
            refund = true;
        }
        bond.status = BondStatus.Paid;
        amount = bond.amount;
        emit BondClaimed(contributionId, msg.sender, amount, refund);
        _paymentTokens[contribution.modelId].safeTransfer(msg.sender, amount);
    }

    /* INTERNAL */

    /// @dev Applies one decision of final round `roundId` (bonds root `root`); returns the amount it forfeits.
    function _applyBondDecision(
        address distributor,
        uint256 modelId,
        uint256 roundId,
        bytes32 root,
        BondDecisionInput calldata input
    ) private returns (uint256 forfeited) {
        uint256 contributionId = input.contributionId;
        Bond storage bond = _bonds[contributionId];
        BondStatus status = bond.status;
        if (status == BondStatus.None) revert ContributionBondsNoBond(contributionId);
        IContributionRegistry.Contribution memory contribution = _registry.getContribution(contributionId);
        if (contribution.modelId != modelId) revert ContributionBondsNotInModel(contributionId, modelId);
        // Decided already (by an earlier call, or another round): skip, so nobody can void a batch by front-running.
        if (status != BondStatus.Held) return 0;
        BondDecision decision = input.decision;
        // OpenZeppelin StandardMerkleTree leaf of (uint256, uint8): double hash, so no inner node passes as a leaf.
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(contributionId, uint8(decision)))));
        if (decision == BondDecision.None || !MerkleProof.verifyCalldata(input.proof, root, leaf)) {
            revert ContributionBondsInvalidProof(roundId, contributionId, decision);
        }
        if (decision == BondDecision.Release) {
            bond.status = BondStatus.Released;
            emit BondReleased(contributionId, roundId, contribution.contributor, bond.amount);
            return 0;
        }
        uint256 until = bond.forfeitableUntilRound;
        if (until != 0) {
            // After a withdrawal only the round that may have valued the contribution (or an earlier one) forfeits,
            // and only while no later round is final: from then on the contributor may take the bond back.
            uint256 finalRoundId = _finalRoundId(distributor, modelId);
            if (roundId > until || finalRoundId > until) {
                revert ContributionBondsNotForfeitable(contributionId, roundId, until, finalRoundId);
            }
        }
        bond.status = BondStatus.Forfeited;
        forfeited = bond.amount;
        emit BondForfeited(contributionId, roundId, modelId, forfeited);
    }

    /// @dev Tries `contributor`'s permit for this vault on the model's payment token and ignores a failure, as
    /// OpenZeppelin recommends ({IERC20Permit}, "Security Considerations"): anyone can submit a permit seen in the
    /// mempool first, so its failure must not fail the registration; the bond's transfer decides. The permit's owner
    /// is the contributor of the signed registration and its spender this vault, so a permit signed for another
    /// spender, value or deadline, or replayed, fails here; the vault then takes only the model's bond, and only for
    /// registrations the contributor signed. No payment token known (the model never had a bond policy): no bond
    /// to permit, nothing tried.
    function _tryPermit(uint256 modelId, address contributor, BondPermit calldata permit) private {
        IERC20 token = _paymentTokens[modelId];
        if (address(token) == address(0)) return;
        bool accepted = true;
        try IERC20Permit(address(token)).permit(
            contributor, address(this), permit.value, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch {
            accepted = false;
        }
        emit BondPermitUsed(contributor, address(token), permit.value, permit.deadline, accepted);
    }

    /// @dev The model's latest final round id (0: none yet).
    function _finalRoundId(address distributor, uint256 modelId) private view returns (uint256 roundId) {
        // Only the round id is needed here.
        // slither-disable-next-line unused-return
        (, roundId,,) = IRewardDistributor(distributor).finalizedRound(modelId);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {ICommitteeKeys} from "./interfaces/ICommitteeKeys.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";

/// @title CommitteeKeys
/// @notice Where the model committee (the RewardDistributor's oracles and guardians) publishes its age
/// encryption keys, and posts each epoch's shared committee key with its secret wrapped to every member.
/// @dev No admin, no pause, no ether: membership is the distributor's, changed only through its timelocked
/// admin, and read at every call, so a removed oracle can no longer post nor be wrapped to from the block of
/// its removal. The wraps are opaque bytes here; their correctness is checked off-chain.
contract CommitteeKeys is ICommitteeKeys {
    /* CONSTANTS AND IMMUTABLES */

    /// @notice The distributor's guardian role (`RewardDistributor.GUARDIAN_ROLE`).
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @notice Most members one post may wrap to.
    uint256 public constant MAX_MEMBERS = 64;

    /// @notice Longest wrapped key, in bytes (an age file holding one X25519 secret is about 250-370 bytes).
    uint256 public constant MAX_WRAP_LENGTH = 1024;

    /// @notice Length of an age X25519 recipient: "age1" and 58 bech32 characters (32 bytes and a checksum).
    uint256 public constant RECIPIENT_LENGTH = 62;

    /// @dev Bit `c` is set for each character `c` of the bech32 charset "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
    /// (digits but 1, lowercase letters but b, i, o): one shift and mask per character instead of a search.
    uint256 private constant _BECH32_CHARSET = 0x7ff7dfa0000000003fd000000000000;

    /// @inheritdoc ICommitteeKeys
    address public immutable distributor;

    /* STORAGE */

    mapping(address account => string) private _encryptionKeys;
    /// @dev Epoch `e`'s committee key at index `e - 1`.
    string[] private _committeeKeys;

    /* CONSTRUCTOR */

    /// @param distributor_ The RewardDistributor whose oracles and guardians form the committee.
    constructor(address distributor_) {
        if (distributor_ == address(0)) revert CommitteeKeysZeroAddress();
        distributor = distributor_;
    }

    /* VIEWS */

    /// @inheritdoc ICommitteeKeys
    function isMember(address account) public view returns (bool) {
        return IRewardDistributor(distributor).isOracle(account)
            || IAccessControl(distributor).hasRole(GUARDIAN_ROLE, account);
    }

    /// @inheritdoc ICommitteeKeys
    function encryptionKey(address account) external view returns (string memory) {
        return _encryptionKeys[account];
    }

    /// @inheritdoc ICommitteeKeys
    function epochCount() external view returns (uint256) {
        return _committeeKeys.length;
    }

    /// @inheritdoc ICommitteeKeys
    function committeeKey(uint256 epoch) external view returns (string memory) {
        _requireEpoch(epoch);
        return _committeeKeys[epoch - 1];
    }

    /* EXTERNAL */

    /// @inheritdoc ICommitteeKeys
    function publishEncryptionKey(string calldata recipient) external {
        _requireRecipient(recipient);
        if (keccak256(bytes(_encryptionKeys[msg.sender])) == keccak256(bytes(recipient))) {
            revert CommitteeKeysKeyUnchanged(msg.sender);
        }
        _encryptionKeys[msg.sender] = recipient;
        emit EncryptionKeyPublished(msg.sender, recipient);
    }

    /// @inheritdoc ICommitteeKeys
    function postCommitteeKey(string calldata recipient, address[] calldata members, bytes[] calldata wrappedKeys)
        external
        returns (uint256 epoch)
    {
        _requireMember(msg.sender);
        _requireRecipient(recipient);
        _committeeKeys.push(recipient);
        epoch = _committeeKeys.length;
        emit CommitteeKeyPosted(epoch, recipient, msg.sender);
        _wrap(epoch, members, wrappedKeys);
    }

    /// @inheritdoc ICommitteeKeys
    function wrapCommitteeKey(uint256 epoch, address[] calldata members, bytes[] calldata wrappedKeys) external {
        _requireMember(msg.sender);
        _requireEpoch(epoch);
        _wrap(epoch, members, wrappedKeys);
    }

    /* INTERNAL */

    /// @dev Checks `members` and `wrappedKeys` and emits one {CommitteeKeyWrapped} per member.
    function _wrap(uint256 epoch, address[] calldata members, bytes[] calldata wrappedKeys) private {
        uint256 count = members.length;
        if (count != wrappedKeys.length) revert CommitteeKeysLengthMismatch(count, wrappedKeys.length);
        if (count == 0 || count > MAX_MEMBERS) revert CommitteeKeysInvalidMemberCount(count);
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            address member = members[i];
            // Strictly ascending: no member is wrapped to twice in one post, and never the zero address.
            if (member <= previous) revert CommitteeKeysMembersNotAscending(previous, member);
            _requireMember(member);
            string storage memberKey = _encryptionKeys[member];
            if (bytes(memberKey).length == 0) revert CommitteeKeysNoEncryptionKey(member);
            uint256 length = wrappedKeys[i].length;
            if (length == 0 || length > MAX_WRAP_LENGTH) revert CommitteeKeysInvalidWrap(i, length);
            emit CommitteeKeyWrapped(epoch, member, memberKey, wrappedKeys[i], msg.sender);
            previous = member;
        }
    }

    function _requireMember(address account) private view {
        if (!isMember(account)) revert CommitteeKeysNotMember(account);
    }

    function _requireEpoch(uint256 epoch) private view {
        uint256 count = _committeeKeys.length;
        if (epoch == 0 || epoch > count) revert CommitteeKeysUnknownEpoch(epoch, count);
    }

    /// @dev Reverts unless `recipient` is "age1" and 58 characters of the bech32 charset. The bech32 checksum
    /// is not verified here (age and every client check it before encrypting).
    function _requireRecipient(string calldata recipient) private pure {
        bytes calldata raw = bytes(recipient);
        if (raw.length != RECIPIENT_LENGTH || bytes4(raw[:4]) != "age1") revert CommitteeKeysInvalidRecipient(recipient);
        for (uint256 i = 4; i < RECIPIENT_LENGTH; ++i) {
            // A byte is at most 255, so the shift stays within the word; bytes above 127 find no bit set.
            if ((_BECH32_CHARSET >> uint8(raw[i])) & 1 == 0) revert CommitteeKeysInvalidRecipient(recipient);
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ICommitteeKeys
/// @notice The model committee's encryption keys: a member-gated bulletin board. Contributed files are
/// encrypted (age, X25519) to one shared committee key per epoch; that key's secret is wrapped to each
/// member's published key and posted here as events, so a member added later needs only the small epoch
/// keys re-wrapped to it, and after a member is removed a new epoch is posted without it.
/// @dev The committee is the RewardDistributor's oracles and GUARDIAN_ROLE holders, read from the distributor
/// at every call: membership changes only through the distributor's (timelocked) admin. The contract checks
/// the form of keys and who posts, never the wraps' cryptography: whether a wrap opens with the member's key
/// is checked off-chain (each {CommitteeKeyWrapped} names the member key it was posted for).
interface ICommitteeKeys {
    /* EVENTS */

    /// @notice Emitted when `account` publishes `recipient` (an age X25519 recipient) as its encryption key.
    event EncryptionKeyPublished(address indexed account, string recipient);

    /// @notice Emitted when committee member `poster` opens epoch `epoch` with the shared committee key `recipient`.
    event CommitteeKeyPosted(uint256 indexed epoch, string recipient, address indexed poster);

    /// @notice Emitted when `poster` posts `wrappedKey`, the epoch's secret encrypted to `member`'s published key
    /// `memberKey` (as it was at that moment: a wrap left stale by a later key change is visible off-chain).
    event CommitteeKeyWrapped(
        uint256 indexed epoch, address indexed member, string memberKey, bytes wrappedKey, address poster
    );

    /* ERRORS */

    /// @notice Thrown when the distributor given to the constructor is the zero address.
    error CommitteeKeysZeroAddress();
    /// @notice Thrown when `recipient` is not "age1" followed by 58 characters of the bech32 charset (62 bytes).
    error CommitteeKeysInvalidRecipient(string recipient);
    /// @notice Thrown when `account` publishes the key it already has.
    error CommitteeKeysKeyUnchanged(address account);
    /// @notice Thrown when `account` (a caller or a wrap's member) is neither an oracle nor a guardian.
    error CommitteeKeysNotMember(address account);
    /// @notice Thrown when `epoch` is not between 1 and `epochCount`.
    error CommitteeKeysUnknownEpoch(uint256 epoch, uint256 epochCount);
    /// @notice Thrown when `members` members come with `wraps` wrapped keys.
    error CommitteeKeysLengthMismatch(uint256 members, uint256 wraps);
    /// @notice Thrown when a post wraps to no member or to more than {MAX_MEMBERS}.
    error CommitteeKeysInvalidMemberCount(uint256 count);
    /// @notice Thrown when members are not in strictly ascending order (which also rejects duplicates and zero).
    error CommitteeKeysMembersNotAscending(address previous, address member);
    /// @notice Thrown when wrapping to `member`, which has published no encryption key.
    error CommitteeKeysNoEncryptionKey(address member);
    /// @notice Thrown when the wrapped key at `index` is empty or longer than {MAX_WRAP_LENGTH} bytes.
    error CommitteeKeysInvalidWrap(uint256 index, uint256 length);

    /* VIEWS */

    /// @notice The RewardDistributor whose oracles and guardians form the committee.
    function distributor() external view returns (address);

    /// @notice Whether `account` is on the committee now: an oracle or a GUARDIAN_ROLE holder of {distributor}.
    function isMember(address account) external view returns (bool);

    /// @notice The age recipient `account` published, or "" if none.
    function encryptionKey(address account) external view returns (string memory);

    /// @notice How many epochs were posted; epochs are numbered from 1.
    function epochCount() external view returns (uint256);

    /// @notice The committee key (age recipient) of `epoch`.
    /// @dev Requirements: `1 <= epoch <= epochCount()`.
    function committeeKey(uint256 epoch) external view returns (string memory);

    /* ACTIONS */

    /// @notice Binds the age X25519 recipient `recipient` to the caller, replacing any earlier one. Anyone may
    /// publish; only a committee member's key can be wrapped to.
    /// @dev Requirements: `recipient` is "age1" and 58 lowercase bech32 characters; it differs from the
    /// caller's current key. Emits an {EncryptionKeyPublished} event.
    function publishEncryptionKey(string calldata recipient) external;

    /// @notice Opens a new epoch with the shared committee key `recipient` and posts its secret wrapped to
    /// `members` (as {wrapCommitteeKey}).
    /// @dev Requirements: the caller is a member; `recipient` is a valid age recipient; the member and wrap
    /// checks of {wrapCommitteeKey}. Emits a {CommitteeKeyPosted} event, then a {CommitteeKeyWrapped} event
    /// per member.
    /// @return epoch The new epoch's number.
    function postCommitteeKey(string calldata recipient, address[] calldata members, bytes[] calldata wrappedKeys)
        external
        returns (uint256 epoch);

    /// @notice Posts epoch `epoch`'s secret wrapped to more members (a member added later, or one whose key changed).
    /// @dev Requirements: the caller is a member; `1 <= epoch <= epochCount()`; one wrap per member; 1 to
    /// {MAX_MEMBERS} members in strictly ascending order, each a current member with a published key; each
    /// wrap 1 to {MAX_WRAP_LENGTH} bytes. Emits a {CommitteeKeyWrapped} event per member.
    function wrapCommitteeKey(uint256 epoch, address[] calldata members, bytes[] calldata wrappedKeys) external;
}

using Orleans.Im.Push;
using Orleans.Concurrency;
using Orleans.Im.Messages;

namespace Orleans.Im.Users;

/// <summary>
/// A user: profile, connected devices, and the conversation index with its sync version. Key: the user id.
/// </summary>
[Alias("im.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>The user's profile, or null when the user has none yet.</summary>
    [Alias("GetProfile")]
    Task<UserProfile?> GetProfileAsync();

    /// <summary>Replaces the profile. Returns false, changing nothing, when a field is over its limit or empty.</summary>
    [Alias("SetProfile")]
    Task<bool> SetProfileAsync(UserProfile profile);

    /// <summary>
    /// Entries changed since <paramref name="sinceVersion"/> (0: all), after reconciling group conversations
    /// with their logs (members not told of each message catch up here).
    /// </summary>
    [Alias("Sync")]
    Task<SyncResult> SyncAsync(long sinceVersion);

    /// <summary>One entry of the index, or null when the user is not in that conversation.</summary>
    [Alias("GetConversation")]
    Task<ConversationEntry?> GetConversationAsync(string conversationId);

    /// <summary>
    /// Moves the read position forward to <paramref name="seq"/> (never back), durably; updates unread counts on all
    /// devices and sends a read receipt. <c>NotFound</c> when the user is not in that conversation; <c>Unavailable</c>
    /// when storage did not take it (then nothing changed, and a retry does it all).
    /// </summary>
    [Alias("MarkReadResult")]
    Task<MarkReadResult> MarkReadAsync(string conversationId, long seq);

    /// <summary>
    /// <see cref="MarkReadAsync"/> for edge hosts from before <see cref="MarkReadResult"/>: the entry, or null when not in
    /// the conversation or not stored. Kept so that silos upgraded first still serve them; remove in the release after.
    /// </summary>
    [Alias("MarkRead")]
    Task<ConversationEntry?> MarkReadEntryAsync(string conversationId, long seq);

    /// <summary>
    /// Changes the user's own settings of a conversation (mute, pin, hide, draft). A draft longer than
    /// <see cref="ConversationSettings.MaxDraftLength"/> is cut (on a character boundary). Null when there is no such
    /// entry or the draft is not storable text (<see cref="Messages.StorableText.IsStorable"/>); throws when storage could
    /// not save (the change is kept and saved later; a retry also tells the user's devices).
    /// </summary>
    [Alias("UpdateConversationSettings")]
    Task<ConversationEntry?> UpdateConversationSettingsAsync(string conversationId, ConversationSettings settings);

    /// <summary>A device connected (called by the edge host that holds it).</summary>
    /// <param name="device">The device and its connection.</param>
    /// <param name="pushTo">
    /// The edge's push observer when the edge takes the device's pushes by direct call; null when it subscribes to the
    /// user's stream instead (robots, and edges configured for the stream path).
    /// </param>
    /// <returns>
    /// True when this connection of the device was registered already (a repeated registration); false when it is new
    /// here — for an edge re-registering its devices after a silo was lost, a sign that the grain forgot them and
    /// pushed nothing meanwhile.
    /// </returns>
    [Alias("ConnectDevice")]
    Task<bool> ConnectDeviceAsync(DeviceSession device, IEdgePushObserver? pushTo);

    /// <summary>A connection of a device closed; ignored when the device has logged in again on a newer connection.</summary>
    [Alias("DisconnectDevice")]
    Task DisconnectDeviceAsync(string deviceId, string connectionId);

    /// <summary>
    /// A connection of a device was lost (reset, given up by the edge's kernel, or silent past the idle timeout) rather
    /// than closed: as <see cref="DisconnectDeviceAsync"/>, and if the device was in the app (not away) and has a push
    /// token, it is notified of each conversation's newest unread message that came in the last
    /// <paramref name="silentFor"/> (since its edge last heard from it, reckoned on the silo's clock): those were pushed
    /// into a connection that may have been dead already.
    /// </summary>
    Task DisconnectLostDeviceAsync(string deviceId, string connectionId, TimeSpan silentFor);

    /// <summary>
    /// The edge directory dropped the edge host <paramref name="edgeId"/> as lost at <paramref name="lostAt"/> (silent
    /// since <paramref name="lastHeard"/>): each of the user's devices there that was registered or renewed before
    /// <paramref name="lostAt"/> is dropped as a lost connection (<see cref="DisconnectLostDeviceAsync"/>, silent since
    /// <paramref name="lastHeard"/>). A device renewed later is left alone: the edge was not dead after all, and has
    /// registered its devices again.
    /// </summary>
    [Alias("OnEdgeLost")]
    Task OnEdgeLostAsync(string edgeId, DateTimeOffset lastHeard, DateTimeOffset lostAt);

    /// <summary>
    /// The edge host holding a device's connection says it is still open (every <c>IM:Edge:DeviceRenewInterval</c>, and
    /// after a silo may have been lost). A registration from an edge that renews
    /// (<see cref="DeviceSession.EdgeRenewsLease"/>) lasts <c>IM:Users:DeviceLease</c> from its connect or its last
    /// renewal: the grain stays active meanwhile however quiet the user is, and a device whose edge host died without
    /// saying so is dropped within one and a half leases (the user then goes offline after the presence grace). A device
    /// the grain forgot is registered again here, as by <see cref="ConnectDeviceAsync"/>, unless a newer connection took
    /// its place.
    /// </summary>
    /// <param name="device">The device and its connection, as registered at login.</param>
    /// <param name="pushTo">Its edge's push observer, as for <see cref="ConnectDeviceAsync"/>.</param>
    /// <returns>Renewed, registered again, or superseded (<see cref="DeviceRenewal"/>).</returns>
    [Alias("RenewDevice")]
    Task<DeviceRenewal> RenewDeviceAsync(DeviceSession device, IEdgePushObserver? pushTo);

    /// <summary>
    /// As <see cref="RenewDeviceAsync"/>, when a silo may have been lost (the edge lost a gateway): the user's large groups
    /// and official accounts that lived there were activated again knowing nobody online (they push only to the online
    /// members they were told of), so the user's push routes are told to them again, once for all the user's devices
    /// renewed in one sweep. Called by edges only once every silo has it (silos are upgraded first).
    /// </summary>
    /// <param name="device">The device and its connection, as registered at login.</param>
    /// <param name="pushTo">Its edge's push observer, as for <see cref="ConnectDeviceAsync"/>.</param>
    /// <returns>Renewed, registered again, or superseded (<see cref="DeviceRenewal"/>).</returns>
    [Alias("RenewDeviceAfterSiloLoss")]
    Task<DeviceRenewal> RenewDeviceAfterSiloLossAsync(DeviceSession device, IEdgePushObserver? pushTo);

    /// <summary>
    /// A connected device says its user is away or back, or that its network changed. The user is away when every
    /// connected device is; the change is announced at once (only going offline waits for the grace).
    /// </summary>
    [Alias("SetDeviceStatus")]
    Task SetDeviceStatusAsync(string deviceId, string connectionId, bool away, string? networkType);

    /// <summary>The user's status (online, away, offline), last seen, and devices online now.</summary>
    [Alias("GetPresence")]
    Task<UserPresence> GetPresenceAsync();

    /// <summary>
    /// The user's presence as <paramref name="askerId"/> may see it: status and last seen (no devices) when the user shares
    /// presence and the asker is one the pushes tell (a friend, or a member of one of the user's small groups) and not
    /// blocked; <see cref="PresenceStatus.Hidden"/> otherwise; the user's own, devices included, when the asker is the user.
    /// </summary>
    [Alias("GetPresenceFor")]
    Task<UserPresence> GetPresenceForAsync(string askerId);

    /// <summary>
    /// Whether the user's friends and the members of the user's small groups are told when the user's status changes
    /// (opt-in).
    /// </summary>
    [Alias("SetSharePresence")]
    Task SetSharePresenceAsync(bool share);

    /// <summary>
    /// The user joined (or left) a chat room (told by the room, and by an edge host that found this grain had forgotten
    /// the user's devices); when the user goes offline (after the presence grace) they leave every room they are in.
    /// </summary>
    [Alias("OnRoomJoined"), OneWay]
    Task OnRoomJoinedAsync(string roomId, bool joined);

    /// <summary>A friend's presence changed (called by the friend's user grain).</summary>
    [Alias("OnPresence"), OneWay]
    Task OnPresenceAsync(UserPresence presence);

    /// <summary>The user's contacts changed, now at <paramref name="version"/> (called by the user's contacts grain).</summary>
    [Alias("OnContactsChanged"), OneWay]
    Task OnContactsChangedAsync(long version);

    /// <summary>
    /// The user became friends with <paramref name="peerId"/>, or stopped being (called by the user's contacts grain): the
    /// peer is told the user's presence as they may now see it (hidden once they may not).
    /// </summary>
    [Alias("OnFriendshipChanged"), OneWay]
    Task OnFriendshipChangedAsync(string peerId);

    /// <summary>The user's connected devices.</summary>
    [Alias("GetDevices")]
    Task<IReadOnlyList<DeviceSession>> GetDevicesAsync();

    /// <summary>
    /// The user joined a conversation (called by the conversation grain, awaited): the entry exists durably before the
    /// first message is acked, so that no crash can lose a conversation from the user's list.
    /// Returns false when storage could not commit (the caller retries or refuses).
    /// </summary>
    [Alias("AddConversation")]
    Task<bool> AddConversationAsync(string conversationId, bool readDiffusion);

    /// <summary>
    /// Joins a conversation whose log already has messages (customer service: an agent taking a session): the entry
    /// starts at <paramref name="last"/>, with the messages up to <paramref name="readSeq"/> counted as read (never
    /// moving an earlier read position back), and <paramref name="last"/> is pushed so devices pull what comes before it.
    /// Returns false when storage could not commit.
    /// </summary>
    [Alias("AddConversationAtHead")]
    Task<bool> AddConversationAtHeadAsync(string conversationId, ChatMessage? last, long readSeq);

    /// <summary>
    /// Joins a read-diffusion conversation (an official account the user subscribes to) at its head: the entry starts at
    /// <paramref name="last"/> with nothing unread, and later messages are found at sync unless the user is online.
    /// Returns false when storage could not commit.
    /// </summary>
    [Alias("AddReadDiffusionAtHead")]
    Task<bool> AddReadDiffusionConversationAtHeadAsync(string conversationId, ChatMessage? last);

    /// <summary>
    /// Joins a conversation that has a history (a member added to a group): an entry that is new, or had been removed
    /// (the user left or was removed before), starts at <paramref name="last"/> with nothing unread, so what was said
    /// before the user joined is history to pull, not thousands of unread messages; an entry already there (a retried
    /// add) keeps its read position. Returns false when storage could not commit.
    /// </summary>
    [Alias("JoinAtHead")]
    Task<bool> JoinConversationAtHeadAsync(string conversationId, bool readDiffusion, ChatMessage? last);

    /// <summary>
    /// Starts a membership the conversation knows to be new (an official account's subscription that was not in its
    /// table) at <paramref name="last"/> with nothing unread, even when this user's grain still has a live entry for it:
    /// left by an unsubscribe whose removal never reached this grain, that entry's read position is from before what
    /// was broadcast meanwhile, which must be history to pull, not unread. Returns false when storage could not commit.
    /// </summary>
    [Alias("JoinAnewAtHead")]
    Task<bool> JoinConversationAnewAtHeadAsync(string conversationId, bool readDiffusion, ChatMessage? last);

    /// <summary>
    /// An instant message for this user's online devices only (call signalling): pushed at once, and the answer says how
    /// many devices were online (0: nobody was reached).
    /// </summary>
    [Alias("DeliverInstant")]
    Task<int> DeliverInstantAsync(ChatMessage message);

    /// <summary>The user left or was removed from a conversation. Returns false when storage could not commit.</summary>
    [Alias("RemoveConversation")]
    Task<bool> RemoveConversationAsync(string conversationId);

    /// <summary>A new message in one of the user's conversations (called by the conversation grain).</summary>
    [Alias("OnMessage"), OneWay]
    Task OnMessageAsync(ChatMessage message);

    /// <summary>A message was recalled or edited.</summary>
    [Alias("OnMessageChanged"), OneWay]
    Task OnMessageChangedAsync(ChatMessage message, string actorId);

    /// <summary>Another member read a conversation up to a seq (p2p read receipts).</summary>
    [Alias("OnReadReceipt"), OneWay]
    Task OnReadReceiptAsync(string conversationId, string readerId, long seq);

    /// <summary>
    /// Customer service: the shop's queue follows this agent's presence (or stops). Returns whether the user is online
    /// now; later changes (after the offline grace) are told to the queue grain.
    /// </summary>
    [Alias("WatchPresenceForShop")]
    Task<bool> WatchPresenceForShopAsync(string shopId, bool watch);

    /// <summary>
    /// Registers where <paramref name="deviceId"/> is reached while it is not connected (replacing its earlier token),
    /// or forgets it (<paramref name="registration"/> null). Changes nothing and answers <see cref="AccessStatus.Invalid"/>
    /// when the device id or registration is not valid (<see cref="PushTokenRegistration.IsValid"/>),
    /// <see cref="AccessStatus.Conflict"/> when the user has <see cref="PushTokenRegistration.MaxPerUser"/> devices with
    /// tokens already, <see cref="AccessStatus.Unavailable"/> when storage could not commit.
    /// </summary>
    [Alias("SetPushToken")]
    Task<AccessStatus> SetPushTokenAsync(string deviceId, PushTokenRegistration? registration);

    /// <summary>The devices with a push token, by device id.</summary>
    [Alias("GetPushTokens")]
    Task<IReadOnlyDictionary<string, PushTokenRegistration>> GetPushTokensAsync();

    /// <summary>
    /// The push service refused <paramref name="token"/> for good (the app was uninstalled, the token rotated): the
    /// device's registration is forgotten if it still has that token (a newer one registered meanwhile stays).
    /// </summary>
    [Alias("OnPushTokenRejected"), OneWay]
    Task OnPushTokenRejectedAsync(string deviceId, string token);

    /// <summary>
    /// Login sessions ended (told by the account grain once they are stored as ended), or all of them
    /// (<paramref name="all"/>: the account was disabled, say): the push tokens they registered are forgotten. One-way:
    /// the user grain asks the account grain about blocks, and neither may wait on the other.
    /// </summary>
    [Alias("OnSessionsEnded"), OneWay]
    Task OnSessionsEndedAsync(IReadOnlyList<string> sessionIds, bool all);

    /// <summary>
    /// Another user may have registered the token of <paramref name="deviceId"/> (keyed <paramref name="tokenKey"/>, see
    /// <see cref="Push.PushTokenKeys.For"/>): the phone is signed in as somebody else now. The grain asks the token's
    /// grain, and forgets the device's registration if it still has that token and the token is held by another device.
    /// One-way: the token's grain never waits on a user grain.
    /// </summary>
    Task OnPushTokenMovedAsync(string deviceId, string tokenKey);
}

using System.Collections;

namespace Orleans.Im.EdgeHost.Logging;

/// <summary>
/// A logging scope of named values (connection, user, device, conversation ids). The JSON console formatter writes each
/// as a property of every entry logged inside the scope, so one connection's or one user's lines can be filtered.
/// </summary>
public sealed class LogScope(params KeyValuePair<string, object?>[] values) : IReadOnlyList<KeyValuePair<string, object?>>
{
    /// <summary>The name of the connection id property.</summary>
    public const string ConnectionId = nameof(ConnectionId);

    /// <summary>The name of the transport property.</summary>
    public const string Transport = nameof(Transport);

    /// <summary>The name of the user id property.</summary>
    public const string UserId = nameof(UserId);

    /// <summary>The name of the device id property.</summary>
    public const string DeviceId = nameof(DeviceId);

    /// <summary>The name of the conversation id property.</summary>
    public const string ConversationId = nameof(ConversationId);

    /// <summary>A connection's scope.</summary>
    public static LogScope Connection(string connectionId, string transport) => new(new(ConnectionId, connectionId), new(Transport, transport));

    /// <summary>A request on a connection: the connection, and once signed in the user and device.</summary>
    public static LogScope Request(string connectionId, string transport, Sessions.ClientSession? session) => session is null
        ? Connection(connectionId, transport)
        : new(new(ConnectionId, connectionId), new(Transport, transport), new(UserId, session.UserId), new(DeviceId, session.DeviceId));

    /// <summary>A signed-in user's request (the device is not known).</summary>
    public static LogScope User(string userId) => new(new KeyValuePair<string, object?>(UserId, userId));

    /// <summary>A request about one conversation.</summary>
    public static LogScope Conversation(string conversationId) => new(new KeyValuePair<string, object?>(ConversationId, conversationId));

    public int Count => values.Length;

    public KeyValuePair<string, object?> this[int index] => values[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>How the plain console formatter shows the scope.</summary>
    public override string ToString() => string.Join(" ", values.Select(v => $"{v.Key}={v.Value}"));
}

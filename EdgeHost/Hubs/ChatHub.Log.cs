namespace Orleans.Im.EdgeHost.Hubs;

public sealed partial class ChatHub
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "{ConnectionId}: opening the session failed, the client reconnects: {Reason}")]
        public static partial void OpenFailed(ILogger logger, string connectionId, string reason);
    }
}

namespace Orleans.Im.EdgeHost.Tcp;

public sealed partial class TcpConnection
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Debug, "{ConnectionId}: closing: {Reason}")]
        public static partial void Closing(ILogger logger, string connectionId, string reason);

        [LoggerMessage(2, LogLevel.Debug, "{ConnectionId}: {UserId}/{DeviceId} logged in ({Platform})")]
        public static partial void LoggedIn(ILogger logger, string connectionId, string userId, string deviceId, string platform);

        [LoggerMessage(3, LogLevel.Warning, "{ConnectionId}: slow consumer, pushes dropped")]
        public static partial void PushDropped(ILogger logger, string connectionId);

        [LoggerMessage(4, LogLevel.Warning, "{ConnectionId}: request {Operation} failed: {Reason}")]
        public static partial void RequestFailed(ILogger logger, string connectionId, string operation, string reason);

        [LoggerMessage(5, LogLevel.Error, "{ConnectionId}: connection failed")]
        public static partial void ConnectionFailed(ILogger logger, string connectionId, Exception exception);
    }
}

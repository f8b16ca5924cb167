namespace Orleans.Im.EdgeHost.Sessions;

public sealed partial class SessionHub
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Closing {UserId}/{DeviceId}: ending a session bound to the connection failed: {Reason}")]
        public static partial void EndSessionFailed(ILogger logger, string userId, string deviceId, string reason);

        [LoggerMessage(2, LogLevel.Warning, "Closing {UserId}/{DeviceId}: detaching its push route failed: {Reason}")]
        public static partial void DetachFailed(ILogger logger, string userId, string deviceId, string reason);

        [LoggerMessage(3, LogLevel.Warning, "Closing {UserId}/{DeviceId}: disconnecting the device from its user grain failed (tried again): {Reason}")]
        public static partial void DisconnectFailed(ILogger logger, string userId, string deviceId, string reason);
    }
}

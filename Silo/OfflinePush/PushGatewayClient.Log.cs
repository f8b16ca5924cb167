namespace Orleans.Im.Silo.OfflinePush;

public sealed partial class PushGatewayClient
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Offline push is off (IM:Push:GatewayUrl is not set)")]
        public static partial void Off(ILogger logger);

        [LoggerMessage(2, LogLevel.Information, "Push gateway: attempt {Attempt} failed: {Error}")]
        public static partial void AttemptFailed(ILogger logger, int attempt, string error);

        [LoggerMessage(3, LogLevel.Warning, "Push gateway: {Count} notifications dropped after {Attempts} attempts: {Error}")]
        public static partial void Dropped(ILogger logger, int count, int attempts, string error);

        [LoggerMessage(4, LogLevel.Warning, "Push gateway: the answer to a request it took does not parse (no tokens forgotten): {Error}")]
        public static partial void AnswerUnreadable(ILogger logger, string error);

        [LoggerMessage(5, LogLevel.Error, "Push gateway: {Count} notifications dropped")]
        public static partial void BatchFailed(ILogger logger, int count, Exception exception);

        [LoggerMessage(6, LogLevel.Warning, "Push gateway: {Count} notifications dropped at stop (the gateway did not take them in time)")]
        public static partial void DroppedOnStop(ILogger logger, int count);

        [LoggerMessage(7, LogLevel.Information, "Push gateway: a login of {UserId} has ended; its device's token is forgotten")]
        public static partial void SessionEnded(ILogger logger, string userId);

        [LoggerMessage(9, LogLevel.Warning, "Push gateway: {Count} notifications dropped: their messages are older than {MaxAge} (call offers: {CallMaxAge}; the gateway was away, or slow)")]
        public static partial void Stale(ILogger logger, int count, TimeSpan maxAge, TimeSpan callMaxAge);

        [LoggerMessage(8, LogLevel.Information, "Push gateway: the token of {UserId}'s device {DeviceId} is another user's now; not told, and forgotten")]
        public static partial void TokenHeldElsewhere(ILogger logger, string userId, string deviceId);
    }
}

namespace Orleans.Im.Silo;

/// <summary>The silo host's log messages.</summary>
internal static partial class SiloLog
{
    [LoggerMessage(1, LogLevel.Information, "Schema migrations: {Count} applied ({Versions})")]
    public static partial void MigrationsApplied(ILogger logger, int count, string versions);

    [LoggerMessage(2, LogLevel.Warning, "PostgreSQL is not reachable yet ({Reason}); retrying")]
    public static partial void DatabaseNotReady(ILogger logger, string reason);

    [LoggerMessage(3, LogLevel.Critical, "Cannot start: PostgreSQL is unreachable ({Reason})")]
    public static partial void CannotStart(ILogger logger, string reason);

    [LoggerMessage(4, LogLevel.Critical, "Cannot start: {Reason}")]
    public static partial void InvalidOptions(ILogger logger, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Redis (cluster membership) is not reachable yet ({Reason}); retrying")]
    public static partial void RedisNotReady(ILogger logger, string reason);

    [LoggerMessage(6, LogLevel.Critical, "Cannot start: Redis (cluster membership) does not answer ({Reason})")]
    public static partial void CannotStartWithoutRedis(ILogger logger, string reason);
}

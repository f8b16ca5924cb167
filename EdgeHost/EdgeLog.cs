namespace Orleans.Im.EdgeHost;

/// <summary>The edge host's own log messages at start.</summary>
internal static partial class EdgeLog
{
    [LoggerMessage(1, LogLevel.Critical, "Cannot start: {Reason}")]
    public static partial void InvalidOptions(ILogger logger, string reason);
}

using Microsoft.Extensions.Logging;

namespace Orleans.Im.Accounts;

public sealed partial class AccountGrain
{
    [LoggerMessage(1, LogLevel.Warning, "Ended sessions of {UserId} not yet recorded or announced to the edges ({Waiting} waiting), retried in {Retry}")]
    private static partial void LogAnnounceFailed(ILogger logger, Exception exception, string userId, int waiting, TimeSpan retry);

    [LoggerMessage(2, LogLevel.Warning, "Ended sessions of {UserId} not recorded or announced before deactivating ({Waiting} waiting): the next activation announces them")]
    private static partial void LogAnnounceLeft(ILogger logger, Exception exception, string userId, int waiting);
}

using Microsoft.Extensions.Logging;

namespace Orleans.Im.Accounts;

public sealed partial class AccountGrain
{
    [LoggerMessage(1, LogLevel.Warning, "Ended sessions of {UserId} not announced to the edges ({Waiting} waiting), retried in {Retry}: {Reason}")]
    private static partial void LogAnnounceFailed(ILogger logger, string userId, int waiting, TimeSpan retry, string reason);
}

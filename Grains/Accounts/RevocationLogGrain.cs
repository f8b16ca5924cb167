using Microsoft.Extensions.Logging;

namespace Orleans.Im.Accounts;

/// <inheritdoc cref="IRevocationLogGrain"/>
public sealed partial class RevocationLogGrain(IRevocationStore store, ImClock clock, ILogger<RevocationLogGrain> logger)
    : Grain, IRevocationLogGrain, IRemindable
{
    /// <summary>How long a revocation is kept: the longest an access token may live (<c>IM:Auth:AccessTokenLifetime</c>).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(1);

    /// <summary>
    /// The most revocations one catch-up returns, the newest (a reconnect storm ends one session per closed connection
    /// that took a connection token: tens of thousands at most, at about a hundred bytes each).
    /// </summary>
    public const int MaxKept = 200_000;

    /// <summary>How often revocations older than <see cref="Retention"/> are deleted.</summary>
    public static readonly TimeSpan PrunePeriod = TimeSpan.FromHours(1);

    private const string PruneReminderName = "prune";

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Durable, so that the table is pruned even if no edge starts for weeks: an edge's start activates this once. A
        // failure here must not keep the edge from catching up; the next activation registers it.
        try
        {
            await this.RegisterOrUpdateReminder(PruneReminderName, PrunePeriod, PrunePeriod, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReminderFailed(logger, ex.Message);
        }
    }

    public Task<IReadOnlyList<SessionRevoked>> GetSinceAsync(DateTimeOffset since)
    {
        var horizon = clock.UtcNow - Retention;
        return store.ReadSinceAsync(since > horizon ? since : horizon, MaxKept);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == PruneReminderName)
        {
            LogPruned(logger, await store.PruneAsync(clock.UtcNow - Retention));
        }
    }

    [LoggerMessage(2, LogLevel.Warning, "Revocation log: its pruning reminder could not be registered: {Reason}")]
    private static partial void LogReminderFailed(ILogger logger, string reason);

    [LoggerMessage(1, LogLevel.Debug, "Revocations older than their retention deleted: {Count}")]
    private static partial void LogPruned(ILogger logger, int count);
}

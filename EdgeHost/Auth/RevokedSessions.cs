using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Orleans.Im.Accounts;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Streams;
using Orleans.Streams;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>
/// Sessions ended anywhere in the cluster, heard on the revocation broadcast: their access tokens are refused here, and
/// connections of them closed. Entries are kept as long as a token issued before the revocation could still be valid.
/// At start, those announced before this edge listened come from the revocation log (<see cref="IRevocationLogGrain"/>);
/// and every <see cref="AuthOptions.RevocationRecheckInterval"/> the log is read again from a little before the last
/// read, for any the broadcast did not bring (a gateway connection down at the time, a stream that lost the event): one
/// call per interval, none per login.
/// </summary>
public sealed partial class RevokedSessions(IClusterClient client, IOptions<AuthOptions> options, TimeProvider time, IServiceProvider services, ILogger<RevokedSessions> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _users = new(StringComparer.Ordinal);
    /// <summary>
    /// How far before the previous read the next one starts: revocations are stamped by the silo that made them, and a
    /// record lands up to the announcement's deadline after its stamp.
    /// </summary>
    private static readonly TimeSpan RecheckOverlap = TimeSpan.FromMinutes(2);

    private volatile bool _listening;

    /// <summary>
    /// True once this edge hears the revocation broadcast. Until then it could accept a token revoked elsewhere, so
    /// <c>/healthz</c> reports the edge as not ready.
    /// </summary>
    public bool IsListening => _listening;

    /// <summary>True when the token's session, or all sessions of its user, ended after the token was issued.</summary>
    public bool IsRevoked(AccessTokenClaims claims)
    {
        ArgumentNullException.ThrowIfNull(claims);
        return _sessions.ContainsKey(SessionKey(claims.UserId, claims.SessionId))
            || (_users.TryGetValue(claims.UserId, out var allEndedAt) && claims.IssuedAt < allEndedAt);
    }

    /// <summary>Applies a revocation (also used directly by this edge's own logout, so it holds at once here).</summary>
    public void Apply(SessionRevoked revoked)
    {
        ArgumentNullException.ThrowIfNull(revoked);
        if (revoked.SessionId is { } sessionId)
        {
            // The later time kept: this edge's own logout and the silo's broadcast of it name the same end by two clocks.
            _sessions.AddOrUpdate(SessionKey(revoked.UserId, sessionId), revoked.At, (_, previous) => previous > revoked.At ? previous : revoked.At);
        }
        else
        {
            _users.AddOrUpdate(revoked.UserId, revoked.At, (_, previous) => previous > revoked.At ? previous : revoked.At);
        }

        services.GetRequiredService<SessionHub>().Kick(revoked, "session ended");
    }

    /// <summary>Whether <paramref name="revoked"/> holds here already (heard on the broadcast, or read before).</summary>
    private bool IsKnown(SessionRevoked revoked) => revoked.SessionId is { } sessionId
        ? _sessions.ContainsKey(SessionKey(revoked.UserId, sessionId))
        : _users.TryGetValue(revoked.UserId, out var allEndedAt) && allEndedAt >= revoked.At;

    // A session is revoked as one user's: an announcement about one user never refuses another's tokens.
    private static string SessionKey(string userId, string sessionId) => string.Concat(userId, "\n", sessionId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        StreamSubscriptionHandle<SessionRevoked>? subscription = null;
        var readAt = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested && !_listening)
        {
            try
            {
                var stream = client.GetStreamProvider(StreamNames.Provider)
                    .GetStream<SessionRevoked>(StreamId.Create(StreamNames.AuthNamespace, StreamNames.RevocationsKey));
                subscription ??= await stream.SubscribeAsync((revoked, _) =>
                {
                    Apply(revoked);
                    return Task.CompletedTask;
                });

                // What went out before this edge listened (it may have started after a logout or a disable): asked once,
                // after subscribing, so that nothing falls between the two. Every revocation still able to match a valid
                // token: those younger than a token's whole life, with the margin the others keep them (see the pruning).
                var since = time.GetUtcNow() - options.Value.AccessTokenLifetime - RecheckOverlap;
                readAt = time.GetUtcNow();
                var earlier = await client.GetGrain<IRevocationLogGrain>(IRevocationLogGrain.Key).GetSinceAsync(since);
                foreach (var revoked in earlier)
                {
                    Apply(revoked);
                }

                LogCaughtUp(logger, earlier.Count);
                _listening = true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The cluster is not reachable yet: keep trying; /healthz reports it meanwhile.
                LogSubscribeFailed(logger, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }

        try
        {
            using var timer = new PeriodicTimer(options.Value.RevocationRecheckInterval, time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                readAt = await ReadMissedAsync(readAt);

                // A revocation older than a token's whole life can no longer match a valid token; with a margin, because
                // the token's expiry was stamped by the clock of the edge that issued it, and the revocation's time by the
                // silo's: an edge running ahead issued tokens that outlive an entry dropped at exactly one lifetime.
                var horizon = time.GetUtcNow() - options.Value.AccessTokenLifetime - RecheckOverlap;
                foreach (var (key, at) in _sessions)
                {
                    if (at < horizon)
                    {
                        _sessions.TryRemove(key, out _);
                    }
                }

                foreach (var (key, at) in _users)
                {
                    if (at < horizon)
                    {
                        _users.TryRemove(key, out _);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            if (subscription is not null)
            {
                try
                {
                    await subscription.UnsubscribeAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSubscribeFailed(logger, ex.Message);
                }
            }
        }
    }

    /// <summary>
    /// Applies the revocations recorded since a little before <paramref name="previousRead"/> that this edge does not
    /// hold; the time of this read, or <paramref name="previousRead"/> again when the log could not be read (the next
    /// tick reads from there).
    /// </summary>
    private async Task<DateTimeOffset> ReadMissedAsync(DateTimeOffset previousRead)
    {
        var now = time.GetUtcNow();
        try
        {
            var recorded = await client.GetGrain<IRevocationLogGrain>(IRevocationLogGrain.Key).GetSinceAsync(previousRead - RecheckOverlap);
            var missed = recorded.Where(r => !IsKnown(r)).ToList();
            foreach (var revoked in missed)
            {
                Apply(revoked);
            }

            if (missed.Count > 0)
            {
                LogMissedApplied(logger, missed.Count);
            }

            return now;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRecheckFailed(logger, ex.Message);
            return previousRead;
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Revocation stream: {Reason}")]
    private static partial void LogSubscribeFailed(ILogger logger, string reason);

    [LoggerMessage(2, LogLevel.Information, "Revocations announced before this edge listened: {Count} applied")]
    private static partial void LogCaughtUp(ILogger logger, int count);

    [LoggerMessage(3, LogLevel.Warning, "Revocations the broadcast did not bring, found in the log: {Count} applied")]
    private static partial void LogMissedApplied(ILogger logger, int count);

    [LoggerMessage(4, LogLevel.Warning, "Revocation log could not be read again (the next check reads from the last good one): {Reason}")]
    private static partial void LogRecheckFailed(ILogger logger, string reason);
}

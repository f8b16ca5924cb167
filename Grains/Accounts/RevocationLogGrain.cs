using Orleans.Im.Streams;
using Orleans.Streams;

namespace Orleans.Im.Accounts;

/// <inheritdoc cref="IRevocationLogGrain"/>
[ImplicitStreamSubscription(StreamNames.AuthNamespace)]
[CollectionAgeLimit(AlwaysActive = true)] // what it holds is in memory only: an idle collection would lose it
public sealed class RevocationLogGrain(ImClock clock) : Grain, IRevocationLogGrain
{
    /// <summary>How long a revocation is kept: the longest an access token may live (<c>IM:Auth:AccessTokenLifetime</c>).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(1);

    /// <summary>
    /// The most revocations kept; beyond it the oldest give way (a reconnect storm ends one session per closed connection
    /// that took a connection token: tens of thousands at most, at about a hundred bytes each).
    /// </summary>
    public const int MaxKept = 200_000;

    // In the order heard, which is the order announced per account.
    private readonly Queue<SessionRevoked> _kept = new();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Activated by the first announcement: this takes its delivery, and every later one.
        var stream = this.GetStreamProvider(StreamNames.Provider)
            .GetStream<SessionRevoked>(StreamId.Create(StreamNames.AuthNamespace, this.GetPrimaryKeyString()));
        await stream.SubscribeAsync((revoked, _) =>
        {
            Keep(revoked);
            return Task.CompletedTask;
        });
    }

    public Task<IReadOnlyList<SessionRevoked>> GetSinceAsync(DateTimeOffset since)
    {
        Prune();
        return Task.FromResult<IReadOnlyList<SessionRevoked>>([.. _kept.Where(r => r.At >= since)]);
    }

    private void Keep(SessionRevoked revoked)
    {
        _kept.Enqueue(revoked);
        Prune();
    }

    private void Prune()
    {
        var horizon = clock.UtcNow - Retention;
        while (_kept.Count > 0 && (_kept.Count > MaxKept || _kept.Peek().At < horizon))
        {
            _kept.Dequeue();
        }
    }
}

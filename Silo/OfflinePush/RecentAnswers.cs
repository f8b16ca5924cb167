using System.Collections.Concurrent;

namespace Orleans.Im.Silo.OfflinePush;

/// <summary>
/// Answers of grains the gateway client asked about notifications (is this login live, who holds this token), kept for a
/// while so that a busy user costs one question a minute, not one per notification. A question that could not be asked
/// (a timeout, a cluster in trouble) gets a default answer trusted for a short time only: the pump must not wait on the
/// cluster batch after batch, nor trust a guess for long. Concurrent: a check abandoned when the silo stops may still
/// finish while the drain checks.
/// </summary>
internal sealed class RecentAnswers<TKey, TAnswer>(Func<TKey, Task<TAnswer>> ask, TAnswer unknown, ImClock clock) where TKey : notnull
{
    /// <summary>How long an answer is trusted before it is asked again.</summary>
    public static readonly TimeSpan TrustedFor = TimeSpan.FromMinutes(1);

    /// <summary>How long one question may take; after it, or a failure, the default answer stands for <see cref="UnknownFor"/>.</summary>
    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan UnknownFor = TimeSpan.FromSeconds(10);

    /// <summary>Answers remembered at most; beyond it the memory is cleared (and they are asked again).</summary>
    private const int MaxRemembered = 100_000;

    private readonly ConcurrentDictionary<TKey, (TAnswer Answer, DateTimeOffset AskedAt)> _answers = new();

    /// <summary>Asks, at once and each only once, about the keys not asked lately; returns the keys asked and their
    /// answers (those that could not be asked are left out and answered by <see cref="Answer"/> with the default).</summary>
    public async Task<IReadOnlyList<(TKey Key, TAnswer Answer)>> RefreshAsync(IEnumerable<TKey> keys)
    {
        var now = clock.UtcNow;
        if (_answers.Count > MaxRemembered)
        {
            _answers.Clear();
        }

        var stale = keys.Distinct().Where(key => !_answers.TryGetValue(key, out var known) || now - known.AskedAt >= TrustedFor).ToList();
        var answers = await Task.WhenAll(stale.Select(AskAsync));
        var fresh = new List<(TKey, TAnswer)>(stale.Count);
        for (var i = 0; i < stale.Count; i++)
        {
            if (answers[i] is (true, var answer))
            {
                _answers[stale[i]] = (answer, now);
                fresh.Add((stale[i], answer));
            }
            else
            {
                _answers[stale[i]] = (unknown, now - TrustedFor + UnknownFor);
            }
        }

        return fresh;
    }

    /// <summary>Forgets the answer about <paramref name="key"/>: the next refresh asks again.</summary>
    public void Forget(TKey key) => _answers.TryRemove(key, out _);

    /// <summary>The last answer about <paramref name="key"/> (the default when it was never asked).</summary>
    public TAnswer Answer(TKey key) => _answers.TryGetValue(key, out var known) ? known.Answer : unknown;

    private async Task<(bool Known, TAnswer Answer)> AskAsync(TKey key)
    {
        try
        {
            return (true, await ask(key).WaitAsync(AskTimeout));
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // Whatever went wrong (a timeout, a grain whose activation failed on storage): not known, for a while.
            return (false, unknown);
        }
    }
}

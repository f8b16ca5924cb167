using System.Collections.Concurrent;
using Orleans.Im.Accounts;

namespace Orleans.Im.Robots.Runtime;

/// <summary>
/// Which senders are programs (robot or system accounts), so that a robot does not answer another robot's answers in
/// an endless exchange. Roles rarely change: answers are cached, in a bounded cache.
/// </summary>
internal sealed class SenderKinds(IClusterClient client)
{
    /// <summary>Senders remembered; the cache starts over beyond this.</summary>
    private const int MaxCached = 10_000;

    private readonly ConcurrentDictionary<string, bool> _programs = new(StringComparer.Ordinal);

    public async Task<bool> IsProgramAsync(string senderId)
    {
        if (_programs.TryGetValue(senderId, out var known))
        {
            return known;
        }

        var credentials = await client.GetGrain<IAccountGrain>(senderId).GetCredentialsAsync();
        var program = credentials is not null && credentials.Roles.Any(r => r is AccountRole.Robot or AccountRole.System);
        if (_programs.Count >= MaxCached)
        {
            _programs.Clear();
        }

        _programs[senderId] = program;
        return program;
    }
}

namespace Orleans.Im.Bench.Load;

/// <summary>Signs in a population of users for a load run, spread over the edge hosts round-robin.</summary>
public static class BenchUsers
{
    /// <summary>Logins in flight at once while populating; the SDK's connect is cheap but each login activates a user grain.</summary>
    private const int ConnectConcurrency = 100;

    public static async Task<List<IBenchUser>> ConnectAsync(Transport transport, IReadOnlyList<string> userIds, LoadTarget target, BenchTokens tokens, DeliverySink sink)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(sink);
        sink.Register(userIds);
        var users = new IBenchUser[userIds.Count];
        using var gate = new SemaphoreSlim(ConnectConcurrency);
        await Task.WhenAll(userIds.Select(async (userId, i) =>
        {
            await gate.WaitAsync();
            try
            {
                var edge = target.TcpEndpoints[i % target.TcpEndpoints.Count];
                users[i] = transport switch
                {
                    Transport.Tcp => await TcpBenchUser.ConnectAsync(userId, edge.Address.ToString(), edge.Port, tokens, sink),
                    Transport.TcpLean => await LeanTcpBenchUser.ConnectAsync(userId, edge, tokens, sink),
                    _ => await HubBenchUser.ConnectAsync(userId, target.EdgeUrls[i % target.EdgeUrls.Count], tokens, sink),
                };
            }
            finally
            {
                gate.Release();
            }
        }));
        return [.. users];
    }

    public static async Task DisconnectAsync(IEnumerable<IBenchUser> users) =>
        await Task.WhenAll(users.Select(u => u.DisposeAsync().AsTask()));

    /// <summary>A message text of exactly <paramref name="bytes"/> ASCII characters (the peer measured 40-byte bodies).</summary>
    public static string Body(int bytes) => new('x', bytes);
}

using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// Opens and closes device sessions for every transport: checks the token, registers the device with its user grain
/// (which then knows this edge holds it) and routes the user's pushes to it.
/// </summary>
public sealed class SessionHub(IClusterClient client, AccessTokens tokens, UserStreamSubscriptions subscriptions, IOptions<EdgeOptions> options, TimeProvider time)
{
    private int _open;

    /// <summary>Sessions open on this edge host.</summary>
    public int OpenSessions => Volatile.Read(ref _open);

    /// <summary>The token's claims, or null when it is not a valid, unexpired token.</summary>
    public AccessTokenClaims? Authenticate(string? token) => tokens.Validate(token);

    /// <summary>Opens a session for an authenticated device; dispose the result when the connection ends.</summary>
    public async Task<OpenSession> OpenAsync(AccessTokenClaims claims, string deviceId, string platform, IPushTarget target)
    {
        ArgumentNullException.ThrowIfNull(claims);
        var attachment = await subscriptions.AttachAsync(claims.UserId, target);
        try
        {
            await client.GetGrain<IUserGrain>(claims.UserId).ConnectDeviceAsync(
                new DeviceSession(deviceId, platform, options.Value.EdgeId, time.GetUtcNow()));
        }
        catch
        {
            await attachment.DisposeAsync();
            throw;
        }

        Interlocked.Increment(ref _open);
        return new OpenSession(new ClientSession(client, claims.UserId, deviceId, platform), attachment, this);
    }

    private async Task CloseAsync(ClientSession session, IAsyncDisposable attachment)
    {
        Interlocked.Decrement(ref _open);
        await attachment.DisposeAsync();
        await client.GetGrain<IUserGrain>(session.UserId).DisconnectDeviceAsync(session.DeviceId);
    }

    /// <summary>A session and what to undo when it ends.</summary>
    public sealed class OpenSession(ClientSession session, IAsyncDisposable attachment, SessionHub hub) : IAsyncDisposable
    {
        private int _closed;

        public ClientSession Session { get; } = session;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _closed, 1) == 0 ? new ValueTask(hub.CloseAsync(Session, attachment)) : ValueTask.CompletedTask;
    }
}

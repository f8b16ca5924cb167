using System.Net.Http.Json;

namespace Orleans.Im.AgentConsole;

/// <summary>
/// The agent's login session on the HTTP API: signs in with the password once, then keeps a fresh access token for
/// every (re)connect of the TCP client, refreshing it (each refresh token renews once) and signing in again if that fails.
/// </summary>
public sealed class SignIn(HttpClient http, string userId, string password, string deviceId) : IDisposable
{
    private static readonly TimeSpan RefreshAhead = TimeSpan.FromMinutes(1);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private TokenAnswer? _current;

    public string UserId => userId;

    /// <summary>An access token valid for at least a minute.</summary>
    public async Task<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_current is { } current && current.ExpiresAt - DateTimeOffset.UtcNow > RefreshAhead)
            {
                return current.AccessToken;
            }

            if (_current is { } old)
            {
                using var refreshed = await http.PostAsJsonAsync("/api/auth/refresh",
                    new { old.UserId, old.SessionId, old.RefreshToken }, cancellationToken);
                if (refreshed.IsSuccessStatusCode)
                {
                    _current = await refreshed.Content.ReadFromJsonAsync<TokenAnswer>(cancellationToken);
                    return _current!.AccessToken;
                }
            }

            using var login = await http.PostAsJsonAsync("/api/auth/login",
                new { UserId = userId, Password = password, DeviceId = deviceId, Platform = "console" }, cancellationToken);
            if (!login.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"sign-in refused ({(int)login.StatusCode}): {await login.Content.ReadAsStringAsync(cancellationToken)}");
            }

            _current = await login.Content.ReadFromJsonAsync<TokenAnswer>(cancellationToken);
            return _current!.AccessToken;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}

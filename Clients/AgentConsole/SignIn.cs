using Orleans.Im.Client;

namespace Orleans.Im.AgentConsole;

/// <summary>
/// The agent's sign-in on the HTTP API: the SDK's <see cref="ImSession"/>, which renews the access token for every
/// (re)connect of the TCP client; when the session has ended (signed out elsewhere, a password reset), the console
/// signs in again with the password it was started with, or the one the agent typed after a refusal
/// (<see cref="UsePassword"/>).
/// </summary>
public sealed class SignIn(HttpClient http, string userId, string password, string deviceId) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile string _password = password;
    private ImSession? _session;

    public string UserId => userId;

    /// <summary>A valid access token; <see cref="ImAuthException"/> when the password is refused.</summary>
    public async Task<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_session is { Ended: false } session)
            {
                try
                {
                    return await session.GetAccessTokenAsync(cancellationToken);
                }
                catch (ImAuthException) when (session.Ended)
                {
                    // Ended elsewhere: sign in again below.
                }
            }

            _session?.Dispose();
            _session = null;
            _session = await ImSession.SignInAsync(http, userId, _password, deviceId, "console", cancellationToken: cancellationToken);
            return _session.Tokens.AccessToken;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The password for the next sign-in: the one the console started with was refused (changed meanwhile). A session
    /// still alive is kept; only signing in again uses it.
    /// </summary>
    public void UsePassword(string newPassword)
    {
        ArgumentException.ThrowIfNullOrEmpty(newPassword);
        _password = newPassword;
    }

    /// <summary>For <see cref="ImClientOptions.TokenRefused"/>: the session renews before giving the refused token again.</summary>
    public async Task TokenRefusedAsync(string accessToken, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_session is { } session)
            {
                await session.TokenRefusedAsync(accessToken, cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _session?.Dispose();
        _gate.Dispose();
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Orleans.Im.Client;

/// <summary>
/// A user's sign-in on an edge host's HTTP API, and the access-token source of an <see cref="ImClient"/>
/// (<c>TokenProvider = session.GetAccessTokenAsync</c>). Signs in once with the password, then renews the access token
/// with the refresh token at four fifths of its life, measured on the server's clock. A renewal that fails on the way
/// (no answer, a 5xx) is asked again later with the same refresh token, which the server answers alike within its reuse
/// grace; meanwhile the access token is used while it lasts. Keep <see cref="Tokens"/> (on <see cref="TokensChanged"/>)
/// to <see cref="Resume"/> after a restart without the password.
/// </summary>
public sealed class ImSession : IDisposable
{
    /// <summary>The part of an access token's life after which it is renewed.</summary>
    public const double RenewAtLifeFraction = 0.8;

    /// <summary>Problem code of a refused renewal: the session has ended (signed out, revoked, password changed, expired).</summary>
    public const string SessionEndedCode = "invalid_refresh_token";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ImSessionTokens _tokens;

    // This machine's clock: when to renew, and when the access token stops working (server time less the skew).
    private DateTimeOffset _renewAt;
    private DateTimeOffset _expiresAt;

    private ImSession(HttpClient http, ImSessionTokens tokens, TimeProvider time)
    {
        _http = http;
        _time = time;
        _tokens = tokens;
    }

    /// <summary>The current tokens; keep them (as a secret) to resume the session later.</summary>
    public ImSessionTokens Tokens => _tokens;

    /// <summary>Whether the server refused this session for good: sign in again.</summary>
    public bool Ended { get; private set; }

    /// <summary>Raised after each renewal with the new tokens; the previous refresh token stops working soon after.</summary>
    public event Action<ImSessionTokens>? TokensChanged;

    /// <summary>Signs in with the password; <see cref="ImAuthException"/> when refused (wrong password, rate limited).</summary>
    /// <param name="http">A client whose base address is an edge host (or the balancer in front of them).</param>
    /// <param name="userId">The user.</param>
    /// <param name="password">Their password.</param>
    /// <param name="deviceId">Stable per installation: 1-64 of A-Z a-z 0-9 - _ .</param>
    /// <param name="platform">The device's platform, shown in the user's list of devices.</param>
    /// <param name="time">The clock; the system's by default.</param>
    /// <param name="cancellationToken">Cancels the sign-in.</param>
    public static async Task<ImSession> SignInAsync(
        HttpClient http, string userId, string password, string deviceId, string platform = "dotnet", TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        var clock = time ?? TimeProvider.System;
        using var response = await http.PostAsJsonAsync("/api/auth/login", new { userId, password, deviceId, platform }, Json, cancellationToken).ConfigureAwait(false);
        var answer = await ReadAnswerAsync(response, clock, cancellationToken).ConfigureAwait(false);
        var session = new ImSession(http, answer.Tokens, clock);
        session.Keep(answer);
        return session;
    }

    /// <summary>
    /// A session from kept tokens (an app restarted): its first <see cref="GetAccessTokenAsync"/> renews them, since how
    /// much of the kept access token's life is left is not known on this clock.
    /// </summary>
    public static ImSession Resume(HttpClient http, ImSessionTokens tokens, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(tokens);
        // Renewed at the first ask; until it expires (taken as is: the server's clock is not known yet) the kept access
        // token serves if that renewal cannot reach the server.
        return new ImSession(http, tokens, time ?? TimeProvider.System) { _expiresAt = tokens.AccessTokenExpiresAt };
    }

    /// <summary>
    /// An access token for the next request or (re)connect, renewed first when due. Throws <see cref="ImAuthException"/>
    /// when the session has ended (<see cref="Ended"/>), and the transport's exception when a renewal is due, the server
    /// cannot be reached and the current token has expired (try again later: the same refresh token still works).
    /// </summary>
    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Ended)
            {
                throw new ImAuthException(HttpStatusCode.Unauthorized, SessionEndedCode, "The session has ended; sign in again.");
            }

            if (_time.GetUtcNow() < _renewAt)
            {
                return _tokens.AccessToken;
            }

            try
            {
                using var response = await _http.PostAsJsonAsync("/api/auth/refresh",
                    new { _tokens.UserId, _tokens.SessionId, _tokens.RefreshToken }, Json, cancellationToken).ConfigureAwait(false);
                Keep(await ReadAnswerAsync(response, _time, cancellationToken).ConfigureAwait(false));
            }
            catch (ImAuthException refused) when (refused.Code == SessionEndedCode)
            {
                Ended = true;
                throw;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException
                && !cancellationToken.IsCancellationRequested && _time.GetUtcNow() < _expiresAt)
            {
                // Renewal failed on the way, not refused: the token still works for now, and the next call asks again.
                return _tokens.AccessToken;
            }

            TokensChanged?.Invoke(_tokens);
            return _tokens.AccessToken;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Signs out: the session ends on every edge host, and this object gives no more tokens.</summary>
    public async Task SignOutAsync(CancellationToken cancellationToken = default)
    {
        var token = await GetAccessTokenAsync(cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/logout");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        Ended = true;
    }

    public void Dispose() => _gate.Dispose();

    private void Keep(Answer answer)
    {
        _tokens = answer.Tokens;
        _renewAt = answer.RenewAt;
        _expiresAt = answer.ExpiresAt;
    }

    /// <summary>A login's or refresh's tokens, or its refusal thrown (a 5xx as the transport's exception: try again).</summary>
    private static async Task<Answer> ReadAnswerAsync(HttpResponseMessage response, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            if ((int)response.StatusCode >= 500)
            {
                response.EnsureSuccessStatusCode();
            }

            var problem = await ReadProblemAsync(response, cancellationToken).ConfigureAwait(false);
            throw new ImAuthException(response.StatusCode, problem.Code, problem.Detail);
        }

        var answer = await response.Content.ReadFromJsonAsync<TokenAnswer>(Json, cancellationToken).ConfigureAwait(false)
            ?? throw new ImAuthException(response.StatusCode, null, "empty answer");
        var now = time.GetUtcNow();
        // The server's clock from its Date header: a device whose clock is off still renews in time.
        var skew = (response.Headers.Date ?? now) - now;
        var life = answer.ExpiresAt - (now + skew);
        return new Answer(
            new ImSessionTokens(answer.UserId, answer.SessionId, answer.AccessToken, answer.RefreshToken, answer.ExpiresAt),
            RenewAt: now + life * RenewAtLifeFraction,
            ExpiresAt: answer.ExpiresAt - skew);
    }

    private static async Task<(string? Code, string? Detail)> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken).ConfigureAwait(false);
            return (problem.TryGetProperty("code", out var code) ? code.GetString() : null,
                problem.TryGetProperty("detail", out var detail) ? detail.GetString() : null);
        }
        catch (JsonException)
        {
            return (null, response.ReasonPhrase);
        }
    }

    private sealed record Answer(ImSessionTokens Tokens, DateTimeOffset RenewAt, DateTimeOffset ExpiresAt);

    private sealed record TokenAnswer(string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt, string UserId, string SessionId);
}

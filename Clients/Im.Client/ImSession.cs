using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Orleans.Im.Client;

/// <summary>
/// A user's sign-in on an edge host's HTTP API, and the access-token source of an <see cref="ImClient"/>
/// (<c>TokenProvider = session.GetAccessTokenAsync</c>). Signs in once with the password, then renews the access token
/// with the refresh token at four fifths of its life. A renewal that fails on the way (no answer, a 5xx, a proxy's
/// refusal) is asked again within seconds with the same refresh token — the server answers a repeat alike within its
/// reuse grace, a minute by default — and the current token serves meanwhile while it lasts. Keep the tokens on every
/// <see cref="TokensChanged"/> (the sign-in's included) to <see cref="Resume"/> after a restart.
/// </summary>
public sealed class ImSession : IDisposable
{
    /// <summary>The part of an access token's life after which it is renewed.</summary>
    public const double RenewAtLifeFraction = 0.8;

    /// <summary>Problem code of a refused renewal: the session has ended (signed out, revoked, password changed, expired).</summary>
    public const string SessionEndedCode = "invalid_refresh_token";

    /// <summary>How soon a renewal that failed on the way is asked again: well within the server's reuse grace.</summary>
    public static readonly TimeSpan RetryAfterFailedRenewal = TimeSpan.FromSeconds(5);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ImSessionTokens _tokens;
    private ImSessionTokens? _unannounced;
    private readonly SemaphoreSlim _announcing = new(1, 1);
    private ITimer? _retry;
    private volatile bool _ended;

    // This machine's clock: when to renew, and when the access token stops working (both a little early, never late).
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

    /// <summary>Whether the session is over (refused by the server, or signed out): sign in again.</summary>
    public bool Ended => _ended;

    /// <summary>
    /// Raised with each new set of tokens (the sign-in's, then every renewal's) at the next ask for a token, on the asking
    /// thread (or, for a renewal retried by the session itself, a thread-pool thread); one at a time, never a set older than
    /// one raised already, and no thread is blocked meanwhile (others wait asynchronously). If a handler throws (keeping
    /// the tokens failed), the next <see cref="GetAccessTokenAsync"/> raises it again.
    /// </summary>
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
        var asked = clock.GetUtcNow();
        using var response = await http.PostAsJsonAsync("/api/auth/login", new { userId, password, deviceId, platform }, Json, cancellationToken).ConfigureAwait(false);
        var answer = await ReadAnswerAsync(response, asked, cancellationToken).ConfigureAwait(false);
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
        // Until that renewal succeeds the kept token serves, up to its expiry taken as is (the clocks may differ a little).
        return new ImSession(http, tokens, time ?? TimeProvider.System) { _expiresAt = tokens.AccessTokenExpiresAt };
    }

    /// <summary>
    /// An access token for the next request or (re)connect, renewed first when due. Throws <see cref="ImAuthException"/>
    /// when the session has ended (<see cref="Ended"/>, status 401), and the failure of the renewal when one is due and
    /// the current token has expired (try again later: the same refresh token still works within the server's grace).
    /// </summary>
    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken = default)
    {
        string token;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            token = await CurrentOrRenewedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }

        if (Interlocked.Exchange(ref _unannounced, null) is { } renewed)
        {
            // One announcement at a time, and only of the current set: a set taken here just before a renewal on another
            // thread replaced it must not be announced after (or again after) the newer one, or the application would keep
            // a refresh token already spent, and presenting it after a restart ends the login as a theft. Waited for
            // asynchronously: no thread blocks while the application's handler runs.
            await _announcing.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (ReferenceEquals(Volatile.Read(ref _tokens), renewed))
                {
                    try
                    {
                        TokensChanged?.Invoke(renewed);
                    }
                    catch
                    {
                        // Announced again at the next ask, unless newer tokens replaced these meanwhile.
                        if (ReferenceEquals(Volatile.Read(ref _tokens), renewed))
                        {
                            Interlocked.CompareExchange(ref _unannounced, renewed, null);
                        }

                        throw;
                    }
                }
            }
            finally
            {
                _announcing.Release();
            }
        }

        return token;
    }

    /// <summary>
    /// For <see cref="ImClientOptions.TokenRefused"/>: an edge refused <paramref name="accessToken"/>. When it is still the
    /// current token, the next <see cref="GetAccessTokenAsync"/> renews it instead of giving it again: the renewal gives a
    /// token the edges take (after a signing-key rotation, say), or finds the session ended (revoked) and says so.
    /// </summary>
    public async Task TokenRefusedAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_ended && _tokens.AccessToken == accessToken)
            {
                _renewAt = DateTimeOffset.MinValue;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Signs out: the session ends on every edge host, and this object gives no more tokens. A session the server has
    /// already ended counts as signed out (told by a refused renewal, not by a refused access token, which an edge with
    /// another signing key or this device's clock can explain); an unreachable server throws, as does a logout that
    /// refuses even a token just renewed (the session is still live there).
    /// </summary>
    public async Task SignOutAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_ended)
            {
                return;
            }

            var status = await LogoutAsync(cancellationToken).ConfigureAwait(false);
            if (status == HttpStatusCode.Unauthorized)
            {
                // Logout takes an access token, and this one was refused: expired, signed with a key the edges no longer
                // take (a rotation), or by this device's clock still valid when it is not. Only the refresh tells whether
                // the session itself ended: renewed, it signs out with the new token; refused, it ended already. Taking
                // any 401 as "ended" left a live login (and its push token: notifications on a signed-out phone).
                await RenewAsync(cancellationToken).ConfigureAwait(false);
                if (await LogoutAsync(cancellationToken).ConfigureAwait(false) == HttpStatusCode.Unauthorized)
                {
                    // Renewed, so the session lives; the token just issued refused all the same (the renewal and the logout
                    // reached edges that disagree on the signing key): not signed out, and the caller is told so.
                    throw new HttpRequestException("Logout refused a token just renewed; the session is still live: try again.", null, HttpStatusCode.Unauthorized);
                }
            }

            _ended = true;
            _retry?.Dispose();
        }
        catch (ImAuthException) when (_ended)
        {
            // The renewal found the session ended already: signed out.
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the retry of a failed renewal; the session itself lives on at the server.</summary>
    public void Dispose()
    {
        _retry?.Dispose();
        _gate.Dispose();
        _announcing.Dispose();
    }

    /// <summary>Asks the server to end the session with the current access token; throws unless it did or had (401).</summary>
    private async Task<HttpStatusCode> LogoutAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/logout");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _tokens.AccessToken);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        // 401: the session had ended (revoked, signed out elsewhere), or the token expired: the caller tells which.
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            response.EnsureSuccessStatusCode();
        }

        return response.StatusCode;
    }

    private async Task<string> CurrentOrRenewedAsync(CancellationToken cancellationToken)
    {
        if (_ended)
        {
            throw new ImAuthException(HttpStatusCode.Unauthorized, SessionEndedCode, "The session has ended; sign in again.");
        }

        if (_time.GetUtcNow() < _renewAt)
        {
            return _tokens.AccessToken;
        }

        try
        {
            await RenewAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or ImAuthException
            && !_ended && !cancellationToken.IsCancellationRequested && _time.GetUtcNow() < _expiresAt)
        {
            // Failed on the way, not refused for good: the token still works for now. Ask again soon, whether or not
            // anything asks for a token (a connected client asks only at its next reconnect), so that a swap the server
            // made, whose answer was lost, is repeated within the server's grace.
            _retry?.Dispose();
            _retry = _time.CreateTimer(_ => _ = RetryQuietlyAsync(), null, RetryAfterFailedRenewal, Timeout.InfiniteTimeSpan);
        }

        return _tokens.AccessToken;
    }

    private async Task RetryQuietlyAsync()
    {
        try
        {
            await GetAccessTokenAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A timer's callback, with nobody to tell: the session ended (Ended says so), the token expired meanwhile, or
            // a TokensChanged handler failed; the next ask reports it to its caller (and announces again).
        }
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        var asked = _time.GetUtcNow();
        try
        {
            using var response = await _http.PostAsJsonAsync("/api/auth/refresh",
                new { _tokens.UserId, _tokens.SessionId, _tokens.RefreshToken }, Json, cancellationToken).ConfigureAwait(false);
            Keep(await ReadAnswerAsync(response, asked, cancellationToken).ConfigureAwait(false));
        }
        catch (ImAuthException refused) when (refused.Status == HttpStatusCode.Unauthorized && refused.Code == SessionEndedCode)
        {
            _ended = true;
            throw;
        }
    }

    private void Keep(Answer answer)
    {
        _tokens = answer.Tokens;
        _renewAt = answer.RenewAt;
        _expiresAt = answer.ExpiresAt;
        _unannounced = answer.Tokens;
        _retry?.Dispose();
        _retry = null;
    }

    /// <summary>A login's or refresh's tokens, or its refusal thrown (a 5xx as the transport's exception).</summary>
    /// <param name="response">The answer.</param>
    /// <param name="asked">When the request left, on this clock: the token's life is counted from there (a little early).</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    private static async Task<Answer> ReadAnswerAsync(HttpResponseMessage response, DateTimeOffset asked, CancellationToken cancellationToken)
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

        var answer = await response.Content.ReadFromJsonAsync<TokenAnswer>(Json, cancellationToken).ConfigureAwait(false);
        if (answer is null || string.IsNullOrEmpty(answer.AccessToken) || string.IsNullOrEmpty(answer.RefreshToken)
            || string.IsNullOrEmpty(answer.UserId) || string.IsNullOrEmpty(answer.SessionId) || answer.ExpiresIn <= 0)
        {
            throw new HttpRequestException("the token answer is incomplete");
        }

        // Relative, so the clocks need not agree: the server counted ExpiresIn when it answered, after the request left.
        var life = TimeSpan.FromSeconds(answer.ExpiresIn);
        return new Answer(
            new ImSessionTokens(answer.UserId, answer.SessionId, answer.AccessToken, answer.RefreshToken, answer.ExpiresAt),
            RenewAt: asked + life * RenewAtLifeFraction,
            ExpiresAt: asked + life);
    }

    private static async Task<(string? Code, string? Detail)> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken).ConfigureAwait(false);
            if (problem.ValueKind != JsonValueKind.Object)
            {
                return (null, response.ReasonPhrase);
            }

            return (problem.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String ? code.GetString() : null,
                problem.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String ? detail.GetString() : null);
        }
        catch (JsonException)
        {
            return (null, response.ReasonPhrase);
        }
    }

    private sealed record Answer(ImSessionTokens Tokens, DateTimeOffset RenewAt, DateTimeOffset ExpiresAt);

    private sealed record TokenAnswer(string? AccessToken, string? RefreshToken, DateTimeOffset ExpiresAt, string? UserId, string? SessionId, long ExpiresIn);
}

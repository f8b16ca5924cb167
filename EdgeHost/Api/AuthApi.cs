using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Orleans.Im.Accounts;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.EdgeHost.Auth;

namespace Orleans.Im.EdgeHost.Api;

/// <summary><c>/api/auth</c>: login, refresh, logout, and token verification for trusted systems.</summary>
public static class AuthApi
{
    // Session ids and refresh tokens are 22 and 43 characters: anything far longer is not one, and is not hashed.
    private const int MaxTokenLength = 256;

    public static RouteGroupBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/auth").WithTags("Auth");
        api.MapPost("/login", LoginAsync).AllowAnonymous();
        api.MapPost("/refresh", RefreshAsync).AllowAnonymous();
        api.MapPost("/logout", LogoutAsync).RequireAuthorization(ApiPolicies.User);
        api.MapPost("/verify", VerifyAsync).RequireAuthorization(ApiPolicies.TrustedSystem);
        return api;
    }

    public static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> LoginAsync(
        LoginBody body, HttpContext http, IClusterClient cluster, PasswordHashing passwords, LoginRateLimiter limiter, AccessTokens tokens, IOptions<AuthOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!GrainKeys.IsValidUserId(body.UserId) || string.IsNullOrEmpty(body.Password) || body.Password.Length > PasswordHashing.MaxPasswordLength)
        {
            return InvalidCredentials();
        }

        // Without a device id, a login of its own: a fixed default made every such client one device, whose push token the
        // next one's replaced (the first phone silently stopped being notified).
        var deviceId = string.IsNullOrEmpty(body.DeviceId) ? "http-" + RandomToken(8) : body.DeviceId;
        if (!GrainKeys.IsValidId(deviceId) || body.Platform?.Length > 32)
        {
            return ApiProblems.Invalid("deviceId must be 1-64 of A-Z a-z 0-9 - _ . and platform at most 32 characters.");
        }

        var address = ClientAddress(http);
        if (!limiter.TryBegin(body.UserId, address))
        {
            return ApiProblems.TooManyPasswordAttempts();
        }

        var account = cluster.For<IAccountGrain>(body.UserId);
        if (await CheckPasswordAsync(account, body.UserId, address, body.Password, passwords, limiter) is not { } credentials)
        {
            // Unknown account, disabled account and wrong password look the same from outside.
            return InvalidCredentials();
        }

        var sessionId = RandomToken(16);
        var refreshToken = RefreshTokens.New();
        var now = time.GetUtcNow();
        var session = new LoginSession(sessionId, deviceId, body.Platform ?? "", RefreshTokens.Hash(refreshToken), now + options.Value.RefreshTokenLifetime, now);
        if (!await account.StartSessionAsync(session, credentials.PasswordHash))
        {
            return InvalidCredentials();
        }

        return TypedResults.Ok(Tokens(tokens, time, body.UserId, session, refreshToken));
    }

    /// <summary>
    /// The account's credentials when <paramref name="password"/> is its password and it is enabled; otherwise null, and
    /// the attempt stays counted as a failed login (the caller reserved it with <see cref="LoginRateLimiter.TryBegin"/>).
    /// Every answer costs one slow hash, so its timing does not tell an unknown, disabled or passwordless account from a
    /// wrong password.
    /// </summary>
    internal static async Task<AccountCredentials?> CheckPasswordAsync(
        IAccountGrain account, string userId, string address, string password, PasswordHashing passwords, LoginRateLimiter limiter)
    {
        AccountCredentials? credentials;
        try
        {
            credentials = await account.GetCredentialsAsync();
        }
        catch
        {
            // The cluster did not answer: no password was tried, so no failure is counted.
            limiter.Succeeded(userId, address);
            throw;
        }

        var matched = passwords.Verify(credentials?.PasswordHash, password);
        if (credentials is null || credentials.Disabled || !matched)
        {
            return null;
        }

        limiter.Succeeded(userId, address);
        return credentials;
    }

    /// <summary>
    /// The client's address, as per-address limits count it: the one the trusted proxy in front reports
    /// (<see cref="EdgeOptions.TrustedProxies"/>, applied by the forwarded-headers middleware), else the peer's own. An
    /// IPv6 client counts as its /64 (<see cref="ClientAddresses.KeyOf"/>).
    /// </summary>
    internal static string ClientAddress(HttpContext http) => ClientAddresses.KeyOf(http.Connection.RemoteIpAddress);

    public static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> RefreshAsync(
        RefreshBody body, HttpContext http, IClusterClient cluster, AccessTokens tokens, RefreshTokens refreshTokens, LoginRateLimiter limiter,
        IOptions<AuthOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!GrainKeys.IsValidUserId(body.UserId) || string.IsNullOrEmpty(body.SessionId) || string.IsNullOrEmpty(body.RefreshToken)
            || body.SessionId.Length > MaxTokenLength || body.RefreshToken.Length > MaxTokenLength)
        {
            return InvalidRefresh();
        }

        // Anonymous, and each one activates the account grain it names: refused ones are bounded per user and address like
        // logins, and per address.
        var address = ClientAddress(http);
        if (!limiter.TryRefresh(body.UserId, address))
        {
            return ApiProblems.Problem(StatusCodes.Status429TooManyRequests, "rate_limited", "Too many refused refreshes; wait a minute.");
        }

        var next = refreshTokens.Successor(body.SessionId, body.RefreshToken);
        LoginSession? session;
        try
        {
            session = await cluster.For<IAccountGrain>(body.UserId).RefreshSessionAsync(
                body.SessionId, RefreshTokens.Hash(body.RefreshToken), RefreshTokens.Hash(next),
                time.GetUtcNow() + options.Value.RefreshTokenLifetime, options.Value.RefreshTokenReuseGrace);
        }
        catch
        {
            // Not refused, unanswered (a silo failing over): the address gets its reservation back, or every client behind
            // one address (a carrier's NAT) would spend its allowance on a blip and then be refused its renewals.
            limiter.RefreshSucceeded(body.UserId, address);
            throw;
        }

        if (session is null)
        {
            return InvalidRefresh();
        }

        limiter.RefreshSucceeded(body.UserId, address);
        return TypedResults.Ok(Tokens(tokens, time, body.UserId, session, next));
    }

    /// <summary>
    /// Signs out the caller's device: its login, with every connection token issued under it (a connection token stands
    /// for its device's login, so logging out with one ends that login too).
    /// </summary>
    public static async Task<NoContent> LogoutAsync(ClaimsPrincipal user, IClusterClient cluster, RevokedSessions revoked, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(user);
        // The grain first: if it cannot be reached the call fails (503) with the token still accepted, so the client can
        // retry the logout instead of being told it worked while the session lives on in storage.
        var ended = await cluster.For<IAccountGrain>(user.UserId()).EndLoginAsync(user.SessionId());

        // Refused here at once; the grain's broadcast tells every other edge host.
        var now = time.GetUtcNow();
        foreach (var sessionId in ended)
        {
            revoked.Apply(new SessionRevoked(user.UserId(), sessionId, now));
        }

        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<VerifyResponse>, ProblemHttpResult>> VerifyAsync(VerifyBody body, IClusterClient cluster, Sessions.SessionHub sessions)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!sessions.RevocationsKnown)
        {
            // "Not valid" would make the caller sign its user out; the token is unchecked, not bad.
            return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "unavailable", "The edge is starting; retry shortly.");
        }

        if (sessions.Authenticate(body.Token) is not { } claims
            || !await cluster.For<IAccountGrain>(claims.UserId).IsSessionLiveAsync(claims.SessionId))
        {
            return TypedResults.Ok(new VerifyResponse(false));
        }

        return TypedResults.Ok(new VerifyResponse(true, claims.UserId, claims.SessionId, claims.ExpiresAt));
    }

    private static TokenResponse Tokens(AccessTokens tokens, TimeProvider time, string userId, LoginSession session, string refreshToken)
    {
        var (accessToken, expiresAt) = tokens.IssueWithExpiry(userId, session.SessionId);
        var expiresIn = (long)Math.Max(0, Math.Floor((expiresAt - time.GetUtcNow()).TotalSeconds));
        return new(accessToken, refreshToken, expiresAt, session.ExpiresAt, userId, session.SessionId, expiresIn);
    }

    private static ProblemHttpResult InvalidCredentials() =>
        ApiProblems.Problem(StatusCodes.Status401Unauthorized, "invalid_credentials", "Wrong user id or password, or the account is disabled.");

    private static ProblemHttpResult InvalidRefresh() =>
        ApiProblems.Problem(StatusCodes.Status401Unauthorized, "invalid_refresh_token", "The refresh token is not valid for a live session.");

    private static string RandomToken(int bytes) => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(bytes));
}

using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Accounts;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// <c>/api/me/password</c>, <c>/api/me/sessions</c> and <c>/api/me/push-token</c>: a user's own password, signed-in
/// devices ("sign out that phone", "sign out everywhere else") and where the calling device is reached while away.
/// </summary>
public static class AccountApi
{
    /// <summary>The shortest password accepted, here and in the admin API.</summary>
    public const int MinPasswordLength = 4;

    public static RouteGroupBuilder MapAccountApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/me").RequireAuthorization(ApiPolicies.User).WithTags("Account");
        api.MapPut("/password", ChangePasswordAsync);
        api.MapGet("/sessions", ListSessionsAsync);
        api.MapDelete("/sessions", EndOtherSessionsAsync);
        api.MapDelete("/sessions/{sessionId}", EndSessionAsync);
        api.MapGet("/push-tokens", ListPushTokensAsync);
        api.MapPut("/push-token", SetPushTokenAsync);
        api.MapDelete("/push-token", DeletePushTokenAsync);
        return api;
    }

    /// <summary>
    /// Changes the caller's password after checking the current one (a wrong one counts as a failed login, so a stolen
    /// access token cannot be used to guess it), and signs out every other device.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> ChangePasswordAsync(
        PasswordChangeBody body, ClaimsPrincipal user, HttpContext http, IClusterClient cluster, PasswordHashing passwords, LoginRateLimiter limiter)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (InvalidPassword(body.NewPassword) is { } invalid)
        {
            return invalid;
        }

        if (string.IsNullOrEmpty(body.CurrentPassword) || body.CurrentPassword.Length > PasswordHashing.MaxPasswordLength)
        {
            return ApiProblems.Invalid("currentPassword is required.");
        }

        var userId = user.UserId();
        var address = AuthApi.ClientAddress(http);
        if (!limiter.TryBegin(userId, address))
        {
            return ApiProblems.TooManyPasswordAttempts();
        }

        var account = cluster.For<IAccountGrain>(userId);
        if (await AuthApi.CheckPasswordAsync(account, userId, address, body.CurrentPassword, passwords, limiter) is not { } credentials)
        {
            return ApiProblems.Problem(StatusCodes.Status403Forbidden, "wrong_password", "The current password is wrong.");
        }

        // Only over the password just checked: one set meanwhile (an admin's reset) stands, and this change is refused.
        return await account.SetPasswordAsync(passwords.Hash(body.NewPassword), user.SessionId(), credentials.PasswordHash!) switch
        {
            Messages.AccessStatus.Ok => TypedResults.NoContent(),
            Messages.AccessStatus.Conflict => ApiProblems.Problem(StatusCodes.Status409Conflict, "conflict", "The password was changed meanwhile; sign in again."),
            _ => ApiProblems.NoSuchAccount(),
        };
    }

    /// <summary>The caller's signed-in devices, oldest login first.</summary>
    public static async Task<Ok<List<SessionView>>> ListSessionsAsync(ClaimsPrincipal user, IClusterClient cluster)
    {
        var userId = user.UserId();
        var sessionsAsked = cluster.For<IAccountGrain>(userId).GetSessionsAsync();
        var connected = (await cluster.For<IUserGrain>(userId).GetDevicesAsync())
            .GroupBy(d => d.DeviceId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(d => d.ConnectedAt).First(), StringComparer.Ordinal);
        var sessions = await sessionsAsked;
        var current = user.SessionId();
        // A connection's own session (its token dies with the connection) is part of its device's login, not a device.
        var callersLogin = sessions.FirstOrDefault(s => s.SessionId == current)?.ParentSessionId ?? current;
        return TypedResults.Ok(sessions
            .Where(s => s.ParentSessionId is null)
            .Select(s => new SessionView(s.SessionId, s.DeviceId, s.Platform, s.CreatedAt,
                s.RefreshedAt == default ? s.CreatedAt : s.RefreshedAt, s.ExpiresAt, s.SessionId == callersLogin,
                connected.GetValueOrDefault(s.DeviceId)?.ConnectedAt, connected.GetValueOrDefault(s.DeviceId)?.ClientVersion))
            .ToList());
    }

    /// <summary>Signs out every device but the caller's.</summary>
    public static async Task<NoContent> EndOtherSessionsAsync(ClaimsPrincipal user, IClusterClient cluster)
    {
        await cluster.For<IAccountGrain>(user.UserId()).EndOtherSessionsAsync(user.SessionId());
        return TypedResults.NoContent();
    }

    /// <summary>Signs out one device of the caller's (its connections are closed), the caller's own included.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> EndSessionAsync(
        string sessionId, ClaimsPrincipal user, IClusterClient cluster, RevokedSessions revoked, TimeProvider time)
    {
        // The account grain is the caller's own: a session id of somebody else's is not found there, and not announced.
        var userId = user.UserId();
        if (string.IsNullOrEmpty(sessionId) || sessionId.Length > 64
            || !await cluster.For<IAccountGrain>(userId).EndOwnSessionAsync(sessionId))
        {
            return ApiProblems.Problem(StatusCodes.Status404NotFound, "not_found", "No such session.");
        }

        // Refused here at once (the caller's own session, say); the grain's broadcast tells every other edge host.
        revoked.Apply(new SessionRevoked(userId, sessionId, time.GetUtcNow()));
        return TypedResults.NoContent();
    }

    /// <summary>
    /// Registers the calling device's push token (replacing its earlier one): while the device is not connected, new
    /// messages are told to it through the operator's push gateway. Bound to the device's login: signed out, the token
    /// is forgotten.
    /// </summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> SetPushTokenAsync(PushTokenBody body, ClaimsPrincipal user, IClusterClient cluster, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!PushTokenRegistration.IsValid(body.Provider, body.Token))
        {
            return ApiProblems.Invalid($"provider is 1-{PushTokenRegistration.MaxProviderLength} of a-z, 0-9, '-' and '_'; token is 1-{PushTokenRegistration.MaxTokenLength} printable ASCII characters without spaces");
        }

        if (await CallersLoginAsync(user, cluster) is not { } login)
        {
            return ApiProblems.SessionEnded();
        }

        return await cluster.For<IUserGrain>(user.UserId())
                .SetPushTokenAsync(login.DeviceId, new PushTokenRegistration(body.Provider!, body.Token!, login.SessionId, time.GetUtcNow(), body.HidePreviews)) switch
        {
            Messages.AccessStatus.Ok => TypedResults.NoContent(),
            Messages.AccessStatus.Conflict => ApiProblems.Problem(StatusCodes.Status409Conflict, "too_many_devices",
                $"At most {PushTokenRegistration.MaxPerUser} devices have push tokens; sign one out first."),
            Messages.AccessStatus.Invalid => ApiProblems.Invalid("this login's device id cannot have a push token"),
            _ => ApiProblems.Unavailable(),
        };
    }

    /// <summary>Forgets the calling device's push token (the app turned notifications off).</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeletePushTokenAsync(ClaimsPrincipal user, IClusterClient cluster)
    {
        if (await CallersLoginAsync(user, cluster) is not { } login)
        {
            return ApiProblems.SessionEnded();
        }

        return await cluster.For<IUserGrain>(user.UserId()).SetPushTokenAsync(login.DeviceId, null) == Messages.AccessStatus.Ok
            ? TypedResults.NoContent()
            : ApiProblems.Unavailable();
    }

    /// <summary>The caller's devices that have a push token.</summary>
    public static async Task<Results<Ok<List<PushTokenView>>, ProblemHttpResult>> ListPushTokensAsync(ClaimsPrincipal user, IClusterClient cluster)
    {
        if (await CallersLoginAsync(user, cluster) is not { } login)
        {
            return ApiProblems.SessionEnded();
        }

        var tokens = await cluster.For<IUserGrain>(user.UserId()).GetPushTokensAsync();
        return TypedResults.Ok(tokens.OrderBy(t => t.Value.RegisteredAt)
            .Select(t => new PushTokenView(t.Key, t.Value.Provider, t.Value.RegisteredAt, t.Key == login.DeviceId, t.Value.HidePreviews))
            .ToList());
    }

    /// <summary>The calling device's login (for a connection's token, the login it was issued under); null when ended.</summary>
    private static Task<LoginSession?> CallersLoginAsync(ClaimsPrincipal user, IClusterClient cluster) =>
        DeviceLogins.LoginOfAsync(cluster, user.UserId(), user.SessionId());

    /// <summary>Null for an acceptable new password; the problem to answer otherwise.</summary>
    public static ProblemHttpResult? InvalidPassword(string? password) =>
        password is null || password.Length < MinPasswordLength || password.Length > PasswordHashing.MaxPasswordLength
            ? ApiProblems.Invalid($"a password is {MinPasswordLength}-{PasswordHashing.MaxPasswordLength} characters")
            : null;
}

using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Api;
using Orleans.Im.EdgeHost.Sessions;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>
/// Authenticates HTTP requests by access token (<c>Authorization: Bearer …</c>, or <c>access_token</c> in the query for
/// WebSockets), checked locally: signature, expiry, revocation. No grain call per request.
/// </summary>
public sealed class BearerTokenHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, SessionHub sessions)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ImBearer";

    /// <summary>Marks a request whose token could not be checked yet (<see cref="SessionHub.RevocationsKnown"/>).</summary>
    private static readonly object RevocationsUnknownKey = new();

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? token = null;
        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = header["Bearer ".Length..].Trim();
        }
        else if (Request.Path.StartsWithSegments(Hubs.ChatHub.Path) && Request.Query.TryGetValue("access_token", out var fromQuery))
        {
            // Only for the hub: a browser's WebSocket cannot send headers, so SignalR puts the token in the URL. Anywhere
            // else a token in a URL would end up in proxies' and servers' access logs for no reason.
            token = fromQuery.ToString();
        }

        if (string.IsNullOrEmpty(token))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!sessions.RevocationsKnown)
        {
            // Just started, and not yet sure which tokens were revoked: neither accepted nor refused (see the challenge).
            Context.Items[RevocationsUnknownKey] = true;
            return Task.FromResult(AuthenticateResult.Fail("revocations not known yet"));
        }

        if (sessions.Authenticate(token) is not { } claims)
        {
            return Task.FromResult(AuthenticateResult.Fail("invalid, expired or revoked token"));
        }

        var identity = new ClaimsIdentity([new Claim(ApiUser.UserIdClaim, claims.UserId), new Claim(ApiUser.SessionIdClaim, claims.SessionId),
            new Claim(ApiUser.IssuedAtClaim, claims.IssuedAt.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture))], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(RevocationsUnknownKey))
        {
            // A 503 to retry, not a 401: a client told its token is bad signs its user out.
            Response.Headers.RetryAfter = "2";
            await ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "unavailable", "The edge is starting; retry shortly.").ExecuteAsync(Context);
            return;
        }


        Response.StatusCode = StatusCodes.Status401Unauthorized;
        await ApiProblems.Problem(StatusCodes.Status401Unauthorized, "unauthenticated", "A valid access token is required.").ExecuteAsync(Context);
    }
}

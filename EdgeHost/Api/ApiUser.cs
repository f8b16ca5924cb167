using System.Security.Claims;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>Who is calling, from the authenticated principal (never from the request body).</summary>
public static class ApiUser
{
    public const string UserIdClaim = "sub";
    public const string SessionIdClaim = "sid";

    /// <summary>When the access token was issued, Unix milliseconds (revocations of all a user's sessions go by it).</summary>
    public const string IssuedAtClaim = "iat";

    public static string UserId(this ClaimsPrincipal user) =>
        user?.FindFirstValue(UserIdClaim) ?? throw new InvalidOperationException("no authenticated user");

    public static string SessionId(this ClaimsPrincipal user) =>
        user?.FindFirstValue(SessionIdClaim) ?? throw new InvalidOperationException("no authenticated session");

    /// <summary>When the caller's access token was issued; the earliest moment when the principal does not say.</summary>
    public static DateTimeOffset TokenIssuedAt(this ClaimsPrincipal user) =>
        long.TryParse(user?.FindFirstValue(IssuedAtClaim), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : DateTimeOffset.MinValue;
}

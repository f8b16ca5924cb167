using System.Security.Claims;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>Who is calling, from the authenticated principal (never from the request body).</summary>
public static class ApiUser
{
    public const string UserIdClaim = "sub";
    public const string SessionIdClaim = "sid";

    public static string UserId(this ClaimsPrincipal user) =>
        user?.FindFirstValue(UserIdClaim) ?? throw new InvalidOperationException("no authenticated user");

    public static string SessionId(this ClaimsPrincipal user) =>
        user?.FindFirstValue(SessionIdClaim) ?? throw new InvalidOperationException("no authenticated session");
}

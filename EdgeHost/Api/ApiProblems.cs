using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// Errors of the HTTP API: RFC 7807 problem details with a stable <c>code</c> (snake case) that programs act on.
/// A conversation the caller may not see answers exactly like one that does not exist.
/// </summary>
public static class ApiProblems
{
    public static ProblemHttpResult Problem(int status, string code, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: code, extensions: new Dictionary<string, object?> { ["code"] = code });

    /// <summary>The stable code of an error the framework answered by itself, by its status.</summary>
    public static string CodeOf(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => "unauthenticated",
        StatusCodes.Status403Forbidden => "not_allowed",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status409Conflict => "conflict",
        StatusCodes.Status413PayloadTooLarge => "too_large",
        StatusCodes.Status429TooManyRequests => "rate_limited",
        StatusCodes.Status503ServiceUnavailable => "unavailable",
        >= 400 and < 500 => "invalid_request",
        _ => "internal",
    };

    public static ProblemHttpResult NotFound() => Problem(StatusCodes.Status404NotFound, "not_found", "No such conversation or message.");

    public static ProblemHttpResult Invalid(string detail) => Problem(StatusCodes.Status400BadRequest, "invalid_request", detail);

    /// <summary>Password attempts over the login limit (per account or per address).</summary>
    public static ProblemHttpResult TooManyPasswordAttempts() =>
        Problem(StatusCodes.Status429TooManyRequests, "rate_limited", "Too many login attempts; wait a minute.");

    public static ProblemHttpResult NoSuchAccount() => Problem(StatusCodes.Status404NotFound, "not_found", "No such account.");

    /// <summary>The caller's login has ended since its access token was issued (signed out elsewhere, kicked).</summary>
    public static ProblemHttpResult SessionEnded() =>
        Problem(StatusCodes.Status401Unauthorized, "session_ended", "The session has ended; sign in again.");

    public static ProblemHttpResult Unavailable() => Problem(StatusCodes.Status503ServiceUnavailable, "unavailable", "Storage is unavailable; retry with the same ids.");

    public static ProblemHttpResult From(SendResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Status switch
        {
            SendStatus.NoAccess => NotFound(),
            SendStatus.Blocked => Problem(StatusCodes.Status403Forbidden, "blocked", result.Error ?? "The recipient does not accept your messages."),
            SendStatus.TooLarge => Problem(StatusCodes.Status413PayloadTooLarge, "too_large", result.Error ?? "Too large."),
            SendStatus.RateLimited => Problem(StatusCodes.Status429TooManyRequests, "rate_limited", result.Error ?? "Too fast; retry later."),
            SendStatus.Unavailable => Unavailable(),
            SendStatus.Offline => Problem(StatusCodes.Status409Conflict, "offline", result.Error ?? "The callee has no online device."),
            _ => Invalid(result.Error ?? "Invalid message."),
        };
    }

    public static ProblemHttpResult From(AccessStatus status) => status switch
    {
        AccessStatus.NoAccess or AccessStatus.NotFound => NotFound(),
        AccessStatus.NotAllowed => Problem(StatusCodes.Status403Forbidden, "not_allowed", "Not allowed."),
        AccessStatus.Conflict => Problem(StatusCodes.Status409Conflict, "conflict", "Already so."),
        AccessStatus.Unavailable => Unavailable(),
        _ => Invalid("Invalid request."),
    };
}

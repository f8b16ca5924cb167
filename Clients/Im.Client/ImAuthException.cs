using System.Net;

namespace Orleans.Im.Client;

/// <summary>
/// The edge host refused a sign-in or a renewal: <see cref="Code"/> is its problem code (<c>invalid_credentials</c>,
/// <c>rate_limited</c>, <c>invalid_refresh_token</c> when the session has ended, …).
/// </summary>
public sealed class ImAuthException : Exception
{
    public ImAuthException()
    {
    }

    public ImAuthException(string message)
        : base(message)
    {
    }

    public ImAuthException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ImAuthException(HttpStatusCode status, string? code, string? detail)
        : base($"{(int)status} {code}: {detail}")
    {
        Status = status;
        Code = code;
    }

    /// <summary>The HTTP status of the refusal.</summary>
    public HttpStatusCode Status { get; }

    /// <summary>The server's problem code, when it gave one.</summary>
    public string? Code { get; }
}

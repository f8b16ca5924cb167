using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Client;

/// <summary>A request failed: the server answered with an error, or the connection was lost before it answered.</summary>
public sealed class ImClientException : Exception
{
    public ImClientException()
    {
    }

    public ImClientException(string message)
        : base(message)
    {
    }

    public ImClientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ImClientException(Error error)
        : base($"{error?.Code}: {error?.Message}")
    {
        Error = error;
    }

    /// <summary>The server's error, when it sent one.</summary>
    public Error? Error { get; }

    /// <summary>
    /// A send's failure: the client message id it went with (made up by the SDK when the app gave none). A retryable
    /// error (<c>UNAVAILABLE</c>: the message may be stored all the same) is answered by sending again with this id, which
    /// the server then answers as a duplicate if it was.
    /// </summary>
    public string? ClientMsgId { get; init; }
}

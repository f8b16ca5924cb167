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
}

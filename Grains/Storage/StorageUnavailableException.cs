namespace Orleans.Im.Storage;

/// <summary>
/// The database could not be reached or did not commit in time. Nothing was acknowledged; the caller may retry.
/// Thrown by storage implementations, turned into an "unavailable" result at the grain boundary where a method has one;
/// serializable, so that a method without one fails its caller with it (an edge that does not know the type gets
/// Orleans' fallback exception, which it answers as unavailable).
/// </summary>
[GenerateSerializer, Alias("im.StorageUnavailableException")]
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

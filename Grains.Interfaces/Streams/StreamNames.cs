namespace Orleans.Im.Streams;

/// <summary>Names of the Orleans stream provider and namespaces that carry pushes to edges.</summary>
public static class StreamNames
{
    /// <summary>The stream provider registered on silos and edge hosts.</summary>
    public const string Provider = "im";

    /// <summary>The namespace of per-user streams; the stream key is the user id.</summary>
    public const string UserNamespace = "user";

    /// <summary>The namespace of the revocation broadcast; one stream, key <see cref="RevocationsKey"/>.</summary>
    public const string AuthNamespace = "auth";

    /// <summary>The key of the one stream every edge host listens to for ended sessions.</summary>
    public const string RevocationsKey = "revocations";

    /// <summary>The namespace of per-edge-host streams (key: the edge id): room messages for the edge's devices.</summary>
    public const string EdgeNamespace = "edge";
}

namespace Orleans.Im.Streams;

/// <summary>Names of the Orleans stream provider and namespaces that carry pushes to edges.</summary>
public static class StreamNames
{
    /// <summary>The stream provider registered on silos and edge hosts.</summary>
    public const string Provider = "im";

    /// <summary>The namespace of per-user streams; the stream key is the user id.</summary>
    public const string UserNamespace = "user";
}

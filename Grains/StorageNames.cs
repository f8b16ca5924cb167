namespace Orleans.Im;

/// <summary>Names under which the silo registers its storage providers; grains refer to them by these names.</summary>
public static class StorageNames
{
    /// <summary>Grain state (profiles, settings, group metadata): ADO.NET storage on PostgreSQL.</summary>
    public const string Grains = "grains";

    /// <summary>Stream subscriptions: Orleans requires this exact name for the stream pub/sub state.</summary>
    public const string PubSub = "PubSubStore";
}

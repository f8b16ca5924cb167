namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>What the hub calls on web clients.</summary>
public interface IChatClient
{
    /// <summary>Pushed events that arrived together, in order.</summary>
    Task Events(IReadOnlyList<HubEvent> events);
}

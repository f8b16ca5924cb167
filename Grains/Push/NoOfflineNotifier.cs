namespace Orleans.Im.Push;

/// <summary>No push gateway configured (<c>IM__Push__GatewayUrl</c> empty): devices that are not connected learn of
/// messages when they connect, as before.</summary>
public sealed class NoOfflineNotifier : IOfflineNotifier
{
    public bool Enabled => false;

    public void Enqueue(OfflineNotification notification)
    {
    }
}

namespace Orleans.Im.Client;

/// <summary>Where an <see cref="ImClient"/>'s connection stands.</summary>
public enum ImClientStatus
{
    Disconnected,
    Connecting,
    Connected,

    /// <summary>Reconnecting after a loss, with backoff.</summary>
    Reconnecting,

    /// <summary>Gave up after <see cref="ImClientOptions.MaxReconnectAttempts"/>; call <see cref="ImClient.ConnectAsync"/>.</summary>
    WaitingForReconnect,
}

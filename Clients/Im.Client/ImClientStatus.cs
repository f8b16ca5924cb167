namespace Orleans.Im.Client;

/// <summary>Where an <see cref="ImClient"/>'s connection stands.</summary>
public enum ImClientStatus
{
    Disconnected,
    Connecting,
    Connected,

    /// <summary>Reconnecting after a loss, with backoff.</summary>
    Reconnecting,

    /// <summary>
    /// Gave up after <see cref="ImClientOptions.MaxReconnectAttempts"/>, or was signed out by another device: sends that
    /// waited for acks have failed; call <see cref="ImClient.ConnectAsync"/>.
    /// </summary>
    WaitingForReconnect,
}

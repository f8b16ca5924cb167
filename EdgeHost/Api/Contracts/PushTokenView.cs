namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A device of the caller's that has a push token (the token itself is not shown back).</summary>
public sealed record PushTokenView(string DeviceId, string Provider, DateTimeOffset RegisteredAt, bool CallersDevice, bool HidePreviews);

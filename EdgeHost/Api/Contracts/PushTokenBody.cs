namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Where the caller's device is reached while it is not connected: its push service and token with it.</summary>
/// <param name="Provider">The push service as the operator's gateway names it (<c>apns</c>, <c>fcm</c>, …).</param>
/// <param name="Token">The device's token with that service.</param>
/// <param name="HidePreviews">The device's notifications leave out what messages say (conversation and sender only).</param>
public sealed record PushTokenBody(string? Provider, string? Token, bool HidePreviews = false);

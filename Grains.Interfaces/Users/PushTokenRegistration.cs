namespace Orleans.Im.Users;

/// <summary>
/// Where a device of a user is reached while it is not connected: the token of its platform's push service (APNs, FCM,
/// a vendor's), which the operator's push gateway turns into a notification.
/// </summary>
/// <param name="Provider">The push service, as the gateway names it (<c>apns</c>, <c>fcm</c>, …).</param>
/// <param name="Token">The device's token with that service.</param>
/// <param name="SessionId">
/// The device's login session that registered it: when that session ends (signed out, kicked, password changed) the
/// token is forgotten, so a phone signed out is not told of messages any more.
/// </param>
/// <param name="RegisteredAt">When it was registered.</param>
/// <param name="HidePreviews">
/// The device's notifications leave out what messages say (the app's "show previews" is off, say on a phone whose lock
/// screen others see): they name the conversation and sender only.
/// </param>
[GenerateSerializer, Immutable, Alias("im.PushTokenRegistration")]
public sealed record PushTokenRegistration(
    [property: Id(0)] string Provider,
    [property: Id(1)] string Token,
    [property: Id(2)] string SessionId,
    [property: Id(3)] DateTimeOffset RegisteredAt,
    [property: Id(4)] bool HidePreviews = false)
{
    /// <summary>The longest provider name.</summary>
    public const int MaxProviderLength = 32;

    /// <summary>The longest token (APNs tokens are 64 hex characters, FCM's ~160, a web push subscription's a few hundred):
    /// the silo holds one per notification waiting for the gateway.</summary>
    public const int MaxTokenLength = 1024;

    /// <summary>Devices with a token at most, per user: a user does not have more phones and tablets than this.</summary>
    public const int MaxPerUser = 20;

    /// <summary>Whether <paramref name="other"/> is the same push service's same token (one install of the app).</summary>
    public bool IsSameToken(PushTokenRegistration other) => other is not null && other.Provider == Provider && other.Token == Token;

    /// <summary>Whether a provider name and token may be registered: lowercase letters, digits, '-' and '_' in the
    /// name; printable ASCII without spaces in the token.</summary>
    public static bool IsValid(string? provider, string? token) =>
        !string.IsNullOrEmpty(provider) && provider.Length <= MaxProviderLength
        && provider.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_')
        && !string.IsNullOrEmpty(token) && token.Length <= MaxTokenLength
        && token.All(c => c is > ' ' and <= '~');
}

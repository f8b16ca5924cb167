namespace Orleans.Im.Push;

/// <summary>The device that claimed a push token last (see <see cref="IPushTokenGrain"/>).</summary>
/// <param name="UserId">Its user.</param>
/// <param name="DeviceId">The device.</param>
/// <param name="Since">When it claimed the token.</param>
/// <param name="Released">
/// That device has forgotten the token since, and nobody claimed it after. The token is still not anybody else's: a
/// registration of another user that missed being told of this claim must not take the token back by default.
/// </param>
[GenerateSerializer, Immutable, Alias("im.PushTokenHolder")]
public sealed record PushTokenHolder(
    [property: Id(0)] string UserId,
    [property: Id(1)] string DeviceId,
    [property: Id(2)] DateTimeOffset Since,
    [property: Id(3)] bool Released = false);

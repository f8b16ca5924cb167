namespace Orleans.Im.Push;

/// <summary>The device that holds a push token (see <see cref="IPushTokenGrain"/>).</summary>
[GenerateSerializer, Immutable, Alias("im.PushTokenHolder")]
public sealed record PushTokenHolder(
    [property: Id(0)] string UserId,
    [property: Id(1)] string DeviceId,
    [property: Id(2)] DateTimeOffset Since);

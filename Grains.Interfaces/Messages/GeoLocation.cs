namespace Orleans.Im.Messages;

/// <summary>A shared location.</summary>
[GenerateSerializer, Immutable, Alias("im.GeoLocation")]
public sealed record GeoLocation(
    [property: Id(0)] double Latitude,
    [property: Id(1)] double Longitude,
    [property: Id(2)] string? Name = null);

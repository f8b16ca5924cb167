namespace Orleans.Im.Users;

/// <summary>What other people see of a user.</summary>
/// <param name="DisplayName">The name shown beside the user's messages.</param>
/// <param name="AvatarUrl">An image URL, or null for none.</param>
/// <param name="Signature">A short line the user shows under their name.</param>
[GenerateSerializer, Immutable, Alias("im.UserProfile")]
public sealed record UserProfile(
    [property: Id(0)] string DisplayName,
    [property: Id(1)] string? AvatarUrl,
    [property: Id(2)] string? Signature = null)
{
    /// <summary>The longest signature accepted, in characters.</summary>
    public const int MaxSignatureLength = 200;

    /// <summary>The longest display name accepted, in characters.</summary>
    public const int MaxDisplayNameLength = 100;

    /// <summary>The longest avatar URL accepted, in characters.</summary>
    public const int MaxAvatarUrlLength = 2048;
}

namespace Orleans.Im.Users;

/// <summary>A user's own settings of one conversation. Null fields are left as they are.</summary>
[GenerateSerializer, Immutable, Alias("im.ConversationSettings")]
public sealed record ConversationSettings(
    [property: Id(0)] bool? Muted = null,
    [property: Id(1)] bool? Pinned = null,
    [property: Id(2)] bool? Hidden = null,
    [property: Id(3)] string? Draft = null)
{
    /// <summary>The longest draft kept, in characters.</summary>
    public const int MaxDraftLength = 4000;
}

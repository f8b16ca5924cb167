namespace Orleans.Im.Messages;

/// <summary>@-mentions in group messages.</summary>
public static class MentionList
{
    /// <summary>The mention of every member (<c>@all</c>); only a group's owner and admins may use it.</summary>
    public const string All = "all";

    /// <summary>The most entries one message's mention list may hold.</summary>
    public const int MaxPerMessage = 50;

    /// <summary>True when <paramref name="mentions"/> names <paramref name="userId"/> or everybody.</summary>
    public static bool Includes(IReadOnlyList<string>? mentions, string userId) =>
        mentions is not null && (mentions.Contains(All) || mentions.Contains(userId));
}

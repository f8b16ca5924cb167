namespace Orleans.Im.Users;

/// <summary>
/// The small, rarely changing part of a user that lives in grain state. The conversation index does not live here:
/// it changes with every message and is stored row by row (see <see cref="IConversationIndexStore"/>).
/// </summary>
[GenerateSerializer, Alias("im.UserState")]
public sealed class UserState
{
    [Id(0)]
    public UserProfile? Profile { get; set; }
}

namespace Orleans.Im.Accounts;

/// <summary>
/// Who may put a user into a group without asking. Being in a group lets its members message the user, mention them and
/// (in small groups) see their presence, so a user may keep that to the people they accepted as friends.
/// </summary>
[GenerateSerializer, Alias("im.GroupAddPolicy")]
public enum GroupAddPolicy
{
    /// <summary>Anyone the user does not block (the default).</summary>
    Everyone = 0,

    /// <summary>Only the user's friends.</summary>
    Contacts = 1,
}

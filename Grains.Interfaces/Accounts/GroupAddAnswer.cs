namespace Orleans.Im.Accounts;

/// <summary>Whether a user may be put into a group by a given other user.</summary>
[GenerateSerializer, Alias("im.GroupAddAnswer")]
public enum GroupAddAnswer
{
    /// <summary>They may.</summary>
    Allowed = 0,

    /// <summary>The user blocks the one adding: left out without a word, as a blocked user's messages are.</summary>
    Blocked = 1,

    /// <summary>The user lets only friends add them (<see cref="GroupAddPolicy.Contacts"/>): the one adding is told.</summary>
    ContactsOnly = 2,
}

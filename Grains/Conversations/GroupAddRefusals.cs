namespace Orleans.Im.Conversations;

/// <summary>
/// Of the users a group creation or an add named, those who may not be put in the group by the caller
/// (<paramref name="Refused"/>), and of them those the caller is told of (<paramref name="Told"/>: they let only friends
/// add them; the others block the caller, which is not told).
/// </summary>
internal sealed record GroupAddRefusals(HashSet<string> Refused, List<string> Told);

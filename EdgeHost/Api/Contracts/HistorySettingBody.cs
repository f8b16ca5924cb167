namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// Whether members added to a group from now on read only what is said from their join on: the name the group's details
/// use. Required: a body without it is refused, not read as "show the history".
/// </summary>
public sealed record HistorySettingBody(bool? HidesHistoryFromNewMembers);

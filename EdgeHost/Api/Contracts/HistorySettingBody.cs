namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Whether members added to a group from now on read only what is said from their join on.</summary>
public sealed record HistorySettingBody(bool HiddenFromNewMembers);

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A user's own settings of a conversation; absent fields stay.</summary>
public sealed record SettingsBody(bool? Muted = null, bool? Pinned = null, bool? Hidden = null, string? Draft = null);

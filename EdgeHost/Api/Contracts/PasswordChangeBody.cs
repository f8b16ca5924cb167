namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A user's own password change: the current password proves it is the user, not a borrowed token.</summary>
public sealed record PasswordChangeBody(string CurrentPassword, string NewPassword);

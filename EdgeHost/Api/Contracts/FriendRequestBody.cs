namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A friend request's note to the other user.</summary>
public sealed record FriendRequestBody(string? Message);

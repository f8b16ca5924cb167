namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A group announcement; null or empty clears it.</summary>
public sealed record AnnouncementBody(string? Text);

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A page of an official account's subscribers; pass <c>Next</c> as <c>after</c> for the next page (null: done).</summary>
public sealed record SubscribersResponse(string[] UserIds, string? Next);

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Sets up (or renames) an official account and replaces its operators.</summary>
public sealed record PublicAccountBody(string Name, string[]? OperatorIds = null);

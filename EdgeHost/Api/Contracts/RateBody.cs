namespace Orleans.Im.EdgeHost.Api.Contracts;

public sealed record RateBody(int Score);

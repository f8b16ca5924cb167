namespace Orleans.Im.AgentConsole;

/// <summary>What <c>/api/auth/login</c> and <c>/api/auth/refresh</c> answer (the fields the console uses).</summary>
internal sealed record TokenAnswer(string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt, string UserId, string SessionId);

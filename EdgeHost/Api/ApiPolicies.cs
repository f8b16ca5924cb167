namespace Orleans.Im.EdgeHost.Api;

/// <summary>Authorization policies of the HTTP API.</summary>
public static class ApiPolicies
{
    /// <summary>A signed-in user (access token).</summary>
    public const string User = "user";

    /// <summary>A trusted system holding the API key (admin API, system sends, token verification).</summary>
    public const string TrustedSystem = "trusted-system";
}

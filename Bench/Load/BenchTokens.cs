using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Auth;

namespace Orleans.Im.Bench.Load;

/// <summary>Mints access tokens with the deployment's dev signing key (<c>.data/dev/signing-key</c>, written by run.sh).</summary>
public sealed class BenchTokens
{
    private readonly AccessTokens _tokens;

    private BenchTokens(AccessTokens tokens) => _tokens = tokens;

    public static async Task<BenchTokens> LoadAsync(string signingKeyFile)
    {
        var key = (await File.ReadAllTextAsync(signingKeyFile)).Trim();
        return new BenchTokens(new AccessTokens(Options.Create(new AuthOptions { SigningKey = key }), TimeProvider.System));
    }

    public string Issue(string userId) => _tokens.Issue(userId, "bench");
}

using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Orleans.Im.Accounts;

namespace Orleans.Im.Robots.SignIn;

/// <summary>
/// Signs a robot in as its account: the account must exist, be enabled and hold the <c>robot</c> role, and when it has
/// a password the configured secret must match it (the edge's PBKDF2 format). A login session is recorded on the
/// account, so that an administrator's kick or disable ends it and the robot notices.
/// </summary>
internal sealed class RobotSignIn(IClusterClient client, IOptions<RobotOptions> options, TimeProvider time)
{
    /// <summary>The longest secret checked, so that hashing cost stays bounded (the edge's limit).</summary>
    private const int MaxSecretLength = 256;

    private readonly PasswordHasher<string> _hasher = new();

    public async Task<(SignInOutcome Outcome, string? SessionId)> SignInAsync()
    {
        var o = options.Value;
        var account = client.GetGrain<IAccountGrain>(o.RobotId);
        var credentials = await account.GetCredentialsAsync();
        var outcome = credentials switch
        {
            null => SignInOutcome.NoSuchAccount,
            { Disabled: true } => SignInOutcome.Disabled,
            _ when !credentials.Roles.Contains(AccountRole.Robot) => SignInOutcome.NotARobot,
            { PasswordHash: { } hash } when !SecretMatches(hash, o.Secret) => SignInOutcome.WrongSecret,
            _ => SignInOutcome.SignedIn,
        };
        if (outcome != SignInOutcome.SignedIn)
        {
            return (outcome, null);
        }

        // A session with no usable refresh token: the robot signs in again (it holds its credentials) when it ends.
        var now = time.GetUtcNow();
        var sessionId = "robot-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var unusable = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        return await account.StartSessionAsync(new LoginSession(sessionId, o.DeviceId, RobotRuntimeNames.Platform, unusable, now + o.SessionLifetime, now))
            ? (SignInOutcome.SignedIn, sessionId)
            : (SignInOutcome.Disabled, null);
    }

    private bool SecretMatches(string hash, string? secret) =>
        !string.IsNullOrEmpty(secret)
        && secret.Length <= MaxSecretLength
        && _hasher.VerifyHashedPassword("", hash, secret) is PasswordVerificationResult.Success or PasswordVerificationResult.SuccessRehashNeeded;
}

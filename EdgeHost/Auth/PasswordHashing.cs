using Microsoft.AspNetCore.Identity;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>
/// Salted, slow password hashes (ASP.NET Core Identity's PBKDF2 format). Hashing runs on the edge, never in the silo,
/// so a burst of logins costs edge CPU, not grain turns.
/// </summary>
public sealed class PasswordHashing
{
    /// <summary>The longest password accepted, so that hashing cost stays bounded.</summary>
    public const int MaxPasswordLength = 256;

    // The user name is not part of the hash format; one hasher serves every account.
    private readonly PasswordHasher<string> _hasher = new();

    public string Hash(string password) => _hasher.HashPassword("", password);

    public bool Verify(string? hash, string password) =>
        hash is not null
        && password.Length <= MaxPasswordLength
        && _hasher.VerifyHashedPassword("", hash, password) is PasswordVerificationResult.Success or PasswordVerificationResult.SuccessRehashNeeded;
}

using System.Security.Cryptography;
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

    // Checked instead when there is no hash to check (no such account, or one without a password): the answer takes
    // as long as a wrong password, so timing does not tell which accounts exist. Random, so no password matches it.
    private readonly string _dummyHash;

    public PasswordHashing() => _dummyHash = Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

    public string Hash(string password) => _hasher.HashPassword("", password);

    /// <summary>
    /// True when <paramref name="password"/> matches <paramref name="hash"/>. Always as slow as a real check, a missing
    /// hash included (it is never a match).
    /// </summary>
    public bool Verify(string? hash, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (password.Length > MaxPasswordLength)
        {
            return false;
        }

        var matched = _hasher.VerifyHashedPassword("", hash ?? _dummyHash, password)
            is PasswordVerificationResult.Success or PasswordVerificationResult.SuccessRehashNeeded;
        return hash is not null && matched;
    }
}

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Orleans.Im.Hosting;

/// <summary>
/// Checks an options class bound from one configuration section: its data annotations (such as
/// <see cref="TimeSpanRangeAttribute"/>) and, once they hold, its <see cref="IValidatableObject"/> rules. Each failure is
/// named by its configuration key (<c>IM:Edge:IdleTimeout</c>, set as <c>IM__Edge__IdleTimeout</c>), which is what an
/// operator has to change. Registered by <see cref="ValidatedOptions.AddValidatedOptions{TOptions}"/>.
/// </summary>
/// <typeparam name="TOptions">The options class.</typeparam>
/// <param name="section">The section it is bound from, e.g. <c>IM:Edge</c>.</param>
public sealed class ConfigurationSectionValidator<TOptions>(string section) : IValidateOptions<TOptions>
    where TOptions : class
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (name != Options.DefaultName)
        {
            return ValidateOptionsResult.Skip;
        }

        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            return ValidateOptionsResult.Success;
        }

        return ValidateOptionsResult.Fail(results.Select(Describe));
    }

    private string Describe(ValidationResult result)
    {
        var members = result.MemberNames.ToList();
        var keys = members.Count == 0 ? section : string.Join(" and ", members.Select(m => $"{section}:{m}"));
        return $"{keys} {result.ErrorMessage}";
    }
}

using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Orleans.Im.Hosting;

/// <summary>
/// Checks the keys a configuration section holds against an options class: every key must name one of its settings (a
/// misspelt key is otherwise ignored without a word, and the default silently kept), and a time span must be written as
/// one (a bare number is read as days: <c>ProbeTimeout=5</c> would wait five days for a probe). For options that are not
/// ours (Orleans' membership and stream options, <see cref="ValidatedOptions.CheckForeignSection{TOptions}"/>) every key
/// is checked; for ours (<see cref="ValidatedOptions.AddValidatedOptions{TOptions}"/>) the values only, since a
/// subsection may be another options class's section (<c>IM:Silo:Membership</c> under <c>IM:Silo</c>).
/// </summary>
/// <typeparam name="TOptions">The options class.</typeparam>
/// <param name="configuration">The host's configuration.</param>
/// <param name="section">The section it is bound from, e.g. <c>IM:Silo:Membership</c>.</param>
/// <param name="optionsName">The options instance bound from it (<see cref="Options.DefaultName"/>, or a provider's name).</param>
/// <param name="valuesOnly">Only keys that hold a value are checked, not subsections.</param>
/// <param name="retiredKeys">
/// Settings an earlier release had and this one dropped: taken without a word (they did nothing since), so that a host
/// whose configuration still sets one starts after an upgrade.
/// </param>
public sealed class SectionKeysValidator<TOptions>(
    IConfiguration configuration, string section, string optionsName, bool valuesOnly = false, IReadOnlyCollection<string>? retiredKeys = null)
    : IValidateOptions<TOptions>
    where TOptions : class
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        if ((name ?? Options.DefaultName) != optionsName)
        {
            return ValidateOptionsResult.Skip;
        }

        var failures = new List<string>();
        var settings = typeof(TOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var entry in configuration.GetSection(section).GetChildren())
        {
            if (!settings.TryGetValue(entry.Key, out var setting))
            {
                if ((valuesOnly && entry.Value is null) || retiredKeys?.Contains(entry.Key, StringComparer.OrdinalIgnoreCase) == true)
                {
                    continue;
                }

                failures.Add($"{entry.Path} is not a setting of {typeof(TOptions).Name}; its settings are {string.Join(", ", settings.Keys.Order(StringComparer.Ordinal))}");
            }
            else if ((Nullable.GetUnderlyingType(setting.PropertyType) ?? setting.PropertyType) == typeof(TimeSpan) && IsBareNumber(entry.Value))
            {
                failures.Add($"{entry.Path} must be written as a time span such as 00:00:30 (a bare number is read as days)");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static bool IsBareNumber(string? value) =>
        value is not null && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}

using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Orleans.Im.Hosting;

/// <summary>
/// Checks what a configuration section says for an options class that is not ours (Orleans' membership and stream
/// options), whose properties carry no bounds to check: every key must name one of its settings (a misspelt key is
/// otherwise ignored without a word, and the default silently kept), and a time span must be written as one (a bare
/// number is read as days: <c>ProbeTimeout=5</c> would wait five days for a probe). Registered by
/// <see cref="ValidatedOptions.CheckForeignSection{TOptions}"/>.
/// </summary>
/// <typeparam name="TOptions">The options class.</typeparam>
/// <param name="configuration">The host's configuration.</param>
/// <param name="section">The section it is bound from, e.g. <c>IM:Silo:Membership</c>.</param>
/// <param name="optionsName">The options instance bound from it (<see cref="Options.DefaultName"/>, or a provider's name).</param>
public sealed class ForeignSectionValidator<TOptions>(IConfiguration configuration, string section, string optionsName) : IValidateOptions<TOptions>
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

using System.Globalization;
using System.Text;

namespace Orleans.Im.Metrics;

/// <summary>The Prometheus text exposition format (version 0.0.4): names, label values and numbers.</summary>
public static class PrometheusText
{
    /// <summary>The content type of a scrape.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Largest magnitude written as an integer; beyond it a double's integer digits are not exact anyway.</summary>
    private const double MaxIntegral = 1e15;

    /// <summary>A valid metric or label name: characters other than letters, digits, <c>_</c> and <c>:</c> become <c>_</c>.</summary>
    /// <param name="name">The name as given.</param>
    public static string SanitizeName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var text = new StringBuilder(name.Length + 1);
        if (char.IsAsciiDigit(name[0]))
        {
            text.Append('_');
        }

        foreach (var c in name)
        {
            text.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        }

        return text.ToString();
    }

    /// <summary>A label value with backslash, double quote and line feed escaped.</summary>
    /// <param name="value">The value.</param>
    public static string EscapeLabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>A help text with backslash and line feed escaped.</summary>
    /// <param name="help">The text.</param>
    public static string EscapeHelp(string help) =>
        help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>A sample value: whole numbers without a decimal point (so counts read as integers), others round-trip.</summary>
    /// <param name="value">The value.</param>
    public static string FormatNumber(double value) =>
        double.IsNaN(value) ? "NaN"
        : double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : Math.Abs(value) < MaxIntegral && value == Math.Floor(value) ? ((long)value).ToString(CultureInfo.InvariantCulture)
        : value.ToString("R", CultureInfo.InvariantCulture);
}

using System.ComponentModel.DataAnnotations;

namespace Orleans.Im.Hosting;

/// <summary>
/// The bounds of a time-span option, checked when the host starts (<see cref="ConfigurationSectionValidator{TOptions}"/>).
/// Configuration reads a bare number as days (<c>IM__Edge__IdleTimeout=120</c> is 120 days, not seconds): without
/// bounds such a value starts the host and silently does something else.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class TimeSpanRangeAttribute : RangeAttribute
{
    /// <param name="minimum">The least value, as a constant time span (<c>00:00:00.100</c>).</param>
    /// <param name="maximum">The greatest value, likewise (<c>1.00:00:00</c> is a day).</param>
    public TimeSpanRangeAttribute(string minimum, string maximum)
        : base(typeof(TimeSpan), minimum, maximum)
    {
        ParseLimitsInInvariantCulture = true;
        ConvertValueInInvariantCulture = true;
        ErrorMessage = "must be between {1} and {2}, written as a time span such as 00:00:30 (a bare number is read as days)";
    }
}

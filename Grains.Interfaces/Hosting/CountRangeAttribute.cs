using System.ComponentModel.DataAnnotations;

namespace Orleans.Im.Hosting;

/// <summary>
/// The bounds of a count option (a batch size, a capacity) that cannot be zero, checked when the host starts
/// (<see cref="ConfigurationSectionValidator{TOptions}"/>), worded like <see cref="TimeSpanRangeAttribute"/>'s.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class CountRangeAttribute : RangeAttribute
{
    /// <param name="minimum">The least value.</param>
    /// <param name="maximum">The greatest value.</param>
    public CountRangeAttribute(int minimum, int maximum)
        : base(minimum, maximum) => ErrorMessage = "must be between {1} and {2}";
}

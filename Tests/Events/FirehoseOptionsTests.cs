using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Im.Silo;
using Orleans.Im.Silo.Events;

namespace Orleans.Im.Tests.Events;

[Trait("Category", "Unit")]
public sealed class FirehoseOptionsTests
{
    [Theory]
    [InlineData("00:00:00")]
    [InlineData("00:00:00.005")]
    [InlineData("00:00:01")]
    public void A_linger_from_zero_to_a_second_is_taken(string linger)
    {
        Assert.Equal(TimeSpan.Parse(linger, CultureInfo.InvariantCulture), Resolve(linger).Linger);
    }

    [Theory]
    [InlineData("5")] // read as five days, not five milliseconds: the pump would sleep while its buffer overflowed
    [InlineData("00:00:02")]
    [InlineData("-00:00:00.001")]
    public void A_linger_outside_zero_to_a_second_stops_the_silo_from_starting(string linger)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Resolve(linger));

        Assert.Contains("IM:Events:Linger", refused.Message);
    }

    private static FirehoseOptions Resolve(string linger)
    {
        var services = new ServiceCollection().AddImFirehose(o =>
        {
            o.Redis = "127.0.0.1:1";
            o.Linger = TimeSpan.Parse(linger, CultureInfo.InvariantCulture);
        });
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<FirehoseOptions>>().Value;
    }
}

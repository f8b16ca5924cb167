using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost;
using Orleans.Im.EdgeHost.Tcp;

namespace Orleans.Im.Tests.Edge;

/// <summary>The TCP flood limits' per-address count (<see cref="ConnectionAdmission"/>).</summary>
[Trait("Category", "Unit")]
public sealed class ConnectionAdmissionTests
{
    [Fact]
    public void An_IPv6_client_counts_as_its_64_block_and_an_IPv4_one_mapped_into_IPv6_as_itself()
    {
        var admission = new ConnectionAdmission(Options.Create(new EdgeOptions { MaxConnectionsPerAddress = 2 }));

        // One subscriber's block: a new address for each socket no longer gets past the limit.
        using var first = admission.TryAdmit(IPAddress.Parse("2001:db8:1:2::1"));
        using var second = admission.TryAdmit(IPAddress.Parse("2001:db8:1:2:ffff::7"));
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(admission.TryAdmit(IPAddress.Parse("2001:db8:1:2:abcd::9")));
        using var neighbour = admission.TryAdmit(IPAddress.Parse("2001:db8:1:3::1"));
        Assert.NotNull(neighbour);

        using var v4 = admission.TryAdmit(IPAddress.Parse("192.0.2.10"));
        using var v4Again = admission.TryAdmit(IPAddress.Parse("::ffff:192.0.2.10"));
        Assert.NotNull(v4);
        Assert.NotNull(v4Again);
        Assert.Null(admission.TryAdmit(IPAddress.Parse("192.0.2.10")));

        // A place given back is taken again.
        second!.Dispose();
        using var again = admission.TryAdmit(IPAddress.Parse("2001:db8:1:2::42"));
        Assert.NotNull(again);
    }
}

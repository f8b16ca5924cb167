using System.Globalization;

namespace Orleans.Im.Client;

/// <summary>An edge host's mobile-protocol address.</summary>
internal sealed record EdgeAddress(string Host, int Port)
{
    /// <summary>Parses <c>host:port</c> (<c>[::1]:5090</c> for IPv6); null when it is not one.</summary>
    public static EdgeAddress? TryParse(string? address) =>
        !string.IsNullOrWhiteSpace(address)
        && Uri.TryCreate("tcp://" + address.Trim(), UriKind.Absolute, out var uri)
        && uri.Port is > 0 and <= 65535
        && uri.PathAndQuery == "/"
            ? new EdgeAddress(uri.Host.Trim('[', ']'), uri.Port)
            : null;

    public override string ToString() =>
        Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}" : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";
}

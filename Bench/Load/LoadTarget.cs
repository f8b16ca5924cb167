using System.Globalization;
using System.Net;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// The running deployment a load command drives (<c>./deploy/run.sh</c>): edge hosts' TCP endpoints and HTTP URLs, the
/// silos' HTTP URLs (for <c>/metrics</c>), the token key, and where results are appended. Loopback addresses only.
/// </summary>
public sealed record LoadTarget(
    IReadOnlyList<IPEndPoint> TcpEndpoints,
    IReadOnlyList<string> EdgeUrls,
    IReadOnlyList<string> SiloUrls,
    string SigningKeyFile,
    string ResultsFile)
{
    /// <summary>The option names every load command accepts.</summary>
    public static readonly string[] OptionNames = ["edges", "edge-urls", "silo-urls", "signing-key-file", "results"];

    public const string OptionsHelp = """
          --edges H:P,...           edge hosts' TCP endpoints (127.0.0.1:5090)
          --edge-urls URL,...       edge hosts' HTTP base URLs, same order (http://127.0.0.1:5080)
          --silo-urls URL,...       silos' HTTP base URLs, for /metrics (http://127.0.0.1:8080)
          --signing-key-file PATH   the deployment's token key (.data/dev/signing-key, written by run.sh)
          --results PATH            JSON lines are appended here (.data/bench/results.jsonl)
        """;

    public static LoadTarget From(CommandLineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoints = options.GetString("edges", "127.0.0.1:5090").Split(',').Select(ParseLoopback).ToList();
        var edgeUrls = options.GetString("edge-urls", "http://127.0.0.1:5080").Split(',').Select(CheckLoopbackUrl).ToList();
        var siloUrls = options.GetString("silo-urls", "http://127.0.0.1:8080").Split(',').Select(CheckLoopbackUrl).ToList();
        return new LoadTarget(endpoints, edgeUrls, siloUrls,
            options.GetString("signing-key-file", ".data/dev/signing-key"), options.GetString("results", ".data/bench/results.jsonl"));
    }

    /// <summary>Every host whose /metrics a report includes: edges first, then silos.</summary>
    public IReadOnlyList<string> MetricsUrls => [.. EdgeUrls, .. SiloUrls];

    private static IPEndPoint ParseLoopback(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon < 0 || !IPAddress.TryParse(text[..colon], out var address) || !IPAddress.IsLoopback(address)
            || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            throw new ArgumentException($"'{text}' is not a loopback host:port");
        }

        return new IPEndPoint(address, port);
    }

    private static string CheckLoopbackUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || !(uri.IsLoopback))
        {
            throw new ArgumentException($"'{text}' is not a loopback URL");
        }

        return text;
    }
}

using System.Globalization;
using Orleans.Im.Bench.Load;

namespace Orleans.Im.Bench.Connect;

/// <summary>
/// One host's memory over <c>connect</c>: resident bytes before the run, while holding, and at the end of the hold, and
/// what that makes per connection held. A figure whose scrape failed is null, and so is every figure made from it.
/// </summary>
/// <param name="Url">The host's base URL.</param>
/// <param name="RssBeforeBytes">Before the first connection.</param>
/// <param name="RssHoldingBytes">Once every connection signed in and the hosts settled.</param>
/// <param name="RssHoldEndBytes">At the end of the hold, every connection still open.</param>
/// <param name="Connections">Connections it held: its own count for an edge, all of them for a silo.</param>
/// <param name="KbPerConnection">RSS grown since before the run, per connection held (KiB): an upper bound that includes uncollected heap.</param>
/// <param name="KbPerConnectionAtHoldEnd">The same at the end of the hold.</param>
public sealed record HostMemory(
    string Url, long? RssBeforeBytes, long? RssHoldingBytes, long? RssHoldEndBytes, double? Connections, double? KbPerConnection, double? KbPerConnectionAtHoldEnd)
{
    /// <summary>
    /// From the three scrapes; <paramref name="connections"/> is null for an edge (its own scrape while holding says how
    /// many it held) and the number opened for a silo.
    /// </summary>
    public static HostMemory From(HostSample before, HostSample holding, HostSample holdEnd, double? connections)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(holding);
        ArgumentNullException.ThrowIfNull(holdEnd);
        long? rssBefore = before.Answered ? before.ResidentBytes : null;
        long? rssHolding = holding.Answered ? holding.ResidentBytes : null;
        long? rssEnd = holdEnd.Answered ? holdEnd.ResidentBytes : null;
        var held = connections ?? (holding.Answered ? holding.Connections : null);
        return new HostMemory(holding.Url, rssBefore, rssHolding, rssEnd, held, PerConnection(rssHolding), PerConnection(rssEnd));

        double? PerConnection(long? rss) => rss is { } now && rssBefore is { } then && held > 0 ? Math.Round((now - then) / 1024.0 / held.Value, 2) : null;
    }

    /// <summary>One line of the human summary.</summary>
    public string Summary()
    {
        return string.Create(CultureInfo.InvariantCulture,
            $"  {Url,-24} rss {Mib(RssBeforeBytes)} → {Mib(RssHoldingBytes)} MiB holding {(Connections is { } held ? held.ToString("0", CultureInfo.InvariantCulture) : "?")} connections = {Kb(KbPerConnection)} KB per connection; at the end of the hold {Mib(RssHoldEndBytes)} MiB = {Kb(KbPerConnectionAtHoldEnd)} KB");

        static string Mib(long? bytes) => bytes is { } b ? (b / 1048576.0).ToString("0", CultureInfo.InvariantCulture) : "(no answer)";
        static string Kb(double? kb) => kb is { } k ? k.ToString("0.0", CultureInfo.InvariantCulture) : "?";
    }
}

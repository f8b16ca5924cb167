using Orleans.Im.Bench.Connect;
using Orleans.Im.Bench.Group;
using Orleans.Im.Bench.GroupCommit;
using Orleans.Im.Bench.Heap;
using Orleans.Im.Bench.Load;
using Orleans.Im.Bench.Micro;
using Orleans.Im.Bench.P2P;
using Orleans.Im.Bench.Rooms;
using Orleans.Im.Bench.Sweep;
using Orleans.Im.Bench.Wire;

// Benchmarks, one command each. They talk to real services on loopback only; see docs/BENCHMARKS.md.

// The TCP load generators' socket callbacks only parse frames and count them, so they run on the socket engine's own
// threads instead of being handed to the thread pool: that saves a thread wake-up per read, ~20 % of the generator's CPU
// at 4,000 p2p msg/s (BENCHMARKS, fourteenth session). Not for the other commands: groupcommit measures the silo's own
// path, which does not use it. The runtime reads the variable when the first socket is made, so it is set before
// anything else; a value given from outside is kept (only "1" turns it on). Child generator processes inherit it.
const string InlineSocketCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (args is ["p2p" or "group" or "room" or "rooms" or "connect" or "sweep", ..]
    && Environment.GetEnvironmentVariable(InlineSocketCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineSocketCompletions, "1");
}

try
{
    return await RunAsync(args);
}
catch (ArgumentException ex) when (ex.GetType() == typeof(ArgumentException))
{
    // A mistyped option (CommandLineOptions refuses them rather than measure the defaults): say so, no stack trace.
    Console.Error.WriteLine($"bench: {ex.Message}; 'help' lists the commands and their options");
    return 2;
}

static async Task<int> RunAsync(string[] args) => args switch
{
    [_, "help" or "--help" or "-h"] => Usage(0),
    ["groupcommit", .. var rest] => await GroupCommitCommand.RunAsync(rest),
    ["wire"] => WireSizeCommand.Run(),
    ["room" or "rooms", .. var rest] => await RoomCommand.RunAsync(rest),
    ["p2p", .. var rest] => await P2PCommand.RunAsync(rest, Transport.Tcp),
    ["signalr", .. var rest] => await P2PCommand.RunAsync(rest, Transport.SignalR),
    ["group", .. var rest] => await GroupCommand.RunAsync(rest),
    ["connect", .. var rest] => await ConnectCommand.RunAsync(rest),
    ["sweep", .. var rest] => await SweepCommand.RunAsync(rest),
    ["micro", .. var rest] => MicroCommand.Run(rest),
    ["heap", .. var rest] => await HeapCommand.RunAsync(rest),
    ["help" or "--help" or "-h"] => Usage(0),
    _ => Usage(2),
};

static int Usage(int exitCode)
{
    var output = exitCode == 0 ? Console.Out : Console.Error;
    output.WriteLine("usage: dotnet run -c Release --project Bench -- <command> [options]");
    output.WriteLine();
    output.WriteLine("commands:");
    output.WriteLine("  groupcommit   the message log's append path into PostgreSQL: direct batches and group commit");
    output.WriteLine("  wire          bytes on the wire of the mobile protocol, and push batch compression");
    output.WriteLine("  room          chat-room fan-out: M members online, messages at a rate (deliveries per second)");
    output.WriteLine("  p2p           one-to-one messages at a rate over TCP (lean client or SDK): sent, acked, delivered, lost, latency");
    output.WriteLine("  signalr       the p2p scenario over the SignalR chat hub");
    output.WriteLine("  group         group fan-out: G members, O online, messages at a rate (deliveries per second)");
    output.WriteLine("  connect       N authenticated TCP connections at a rate, held: logins/s, KB per connection");
    output.WriteLine("  sweep         p2p at rising rates until delivered < 99 % or p99 > 200 ms: the last good rate");
    output.WriteLine("  micro         BenchmarkDotNet: frame codec and group committer (short job)");
    output.WriteLine("  heap          a running .NET process's managed heap by type (after a full GC): objects, bytes, per N");
    output.WriteLine();
    output.WriteLine(GroupCommitCommand.OptionsHelp);
    output.WriteLine(P2PCommand.OptionsHelp);
    output.WriteLine(GroupCommand.OptionsHelp);
    output.WriteLine(RoomCommand.OptionsHelp);
    output.WriteLine(ConnectCommand.OptionsHelp);
    output.WriteLine(SweepCommand.OptionsHelp);
    output.WriteLine(MicroCommand.OptionsHelp);
    output.WriteLine(HeapCommand.OptionsHelp);
    output.WriteLine("options of every load command (p2p, signalr, group, room, connect, sweep):");
    output.WriteLine(LoadTarget.OptionsHelp);
    return exitCode;
}

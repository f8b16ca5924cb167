using Orleans.Im.Bench.GroupCommit;
using Orleans.Im.Bench.Rooms;
using Orleans.Im.Bench.Wire;

// Benchmarks, one command each. They talk to real services on loopback only; see docs/BENCHMARKS.md.
return args switch
{
    ["groupcommit", .. var rest] => await GroupCommitCommand.RunAsync(rest),
    ["wire"] => WireSizeCommand.Run(),
    ["rooms", .. var rest] => await RoomFanoutCommand.RunAsync(rest),
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
    output.WriteLine("  rooms         chat-room fan-out through a running deployment (deliveries per second)");
    output.WriteLine();
    output.WriteLine(GroupCommitCommand.OptionsHelp);
    output.WriteLine(RoomFanoutCommand.OptionsHelp);
    return exitCode;
}

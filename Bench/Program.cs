using Orleans.Im.Bench.GroupCommit;

// Benchmarks, one command each. They talk to real services on loopback only; see docs/BENCHMARKS.md.
return args switch
{
    ["groupcommit", .. var rest] => await GroupCommitCommand.RunAsync(rest),
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
    output.WriteLine();
    output.WriteLine(GroupCommitCommand.OptionsHelp);
    return exitCode;
}

using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Orleans.Im.Bench.Micro;

/// <summary>
/// <c>micro</c>: BenchmarkDotNet micro-benchmarks of the frame codec and the group committer. A short job by default
/// (3 warm-ups, 5 iterations), in process; <c>--full</c> runs BenchmarkDotNet's default job. Other arguments go to
/// BenchmarkDotNet (e.g. <c>--filter *Frame*</c>).
/// </summary>
public static class MicroCommand
{
    public const string OptionsHelp = """
        micro options: --full (BenchmarkDotNet's default job instead of the short one); anything else goes to
        BenchmarkDotNet, e.g. --filter '*FrameCodec*'. Build in Release: dotnet run -c Release --project Bench -- micro
        """;

    private const int ShortWarmups = 3;
    private const int ShortIterations = 5;

    public static int Run(IReadOnlyList<string> args)
    {
        var full = args.Contains("--full");
        var rest = args.Where(a => a != "--full").ToArray();
        // In process: no generated project to build per benchmark, which takes minutes on these machines.
        var job = (full ? Job.Default : Job.ShortRun.WithWarmupCount(ShortWarmups).WithIterationCount(ShortIterations).WithLaunchCount(1))
            .WithToolchain(InProcessEmitToolchain.Instance);
        var config = DefaultConfig.Instance.AddJob(job.AsDefault());
        var summaries = BenchmarkSwitcher.FromTypes([typeof(FrameCodecBenchmarks), typeof(GroupCommitterBenchmarks)])
            .Run(rest.Length == 0 ? ["--filter", "*"] : rest, config);
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    }
}

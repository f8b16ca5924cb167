using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Orleans.Im.Bench.Load;

namespace Orleans.Im.Bench.Connect;

/// <summary>
/// <c>connect</c>: N authenticated TCP connections at a target rate, held with pings for H seconds. Past one process's
/// open-files cap (20,000 here) it runs several generator processes (children of this one, each a shard). Reports logins
/// per second, failures, drops, and each host's memory and CPU — edge memory per connection in KB.
/// </summary>
public static class ConnectCommand
{
    public const string OptionsHelp = """
        connect options:
          --connections N           connections in all (1000)
          --rate R                  connection attempts per second, all processes together (1000)
          --hold H                  seconds to hold them after the last login (30)
          --processes P             generator processes (1); about 19,000 connections fit one process
          --source-addresses K      loopback source addresses 127.0.0.2 … (8); ~28,000 ports each per edge port
          --heartbeat-seconds S     ping interval per connection (50, the server's default)
        """;

    private const string ConnectedMarker = "SHARD-CONNECTED";
    private const string DoneMarker = "SHARD-DONE ";
    private const string HeldMarker = "SHARD-HELD";

    /// <summary>The parent's word to a child that the end of the hold was measured: close the connections now.</summary>
    private const string CloseCommand = "close";

    /// <summary>A child that was not told to close within this (its parent gone) closes anyway.</summary>
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(60);
    private static readonly string[] OwnOptions = ["connections", "rate", "hold", "processes", "source-addresses", "heartbeat-seconds", "shard", "shards", "user-prefix"];

    /// <summary>After the last login, before memory is read: lets the hosts' allocations and the first report settle.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    /// <summary>Children that do not finish within the hold plus this are killed.</summary>
    private static readonly TimeSpan ChildGrace = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = CommandLineOptions.Parse(args, [.. OwnOptions, .. LoadTarget.OptionNames]);
        var target = LoadTarget.From(options);
        var processes = options.GetInt("processes", 1, 1, 64);
        var settings = new ConnectSettings(
            options.GetInt("connections", 1000, 1, 1_000_000), options.GetInt("rate", 1000, 1, 1_000_000), options.GetInt("hold", 30, 1, 86_400),
            processes, options.GetInt("source-addresses", 8, 1, 250), TimeSpan.FromSeconds(options.GetInt("heartbeat-seconds", 50, 1, 3600)),
            options.GetString("user-prefix", $"conn-{Guid.NewGuid().ToString("N")[..6]}"), options.GetInt("shard", 0, 0, 63), options.GetInt("shards", 1, 1, 64));
        var tokens = await BenchTokens.LoadAsync(target.SigningKeyFile);
        if (settings.Shards > 1)
        {
            return await RunChildAsync(settings, target, tokens);
        }

        using var hosts = new HostMetricsReader(target.MetricsUrls);
        var start = RunStart.Now();
        var before = await hosts.SampleAsync();
        var connectWindow = new ResourceWindow(hosts);
        var holdWindow = new ResourceWindow(hosts);
        await connectWindow.StartAsync();
        Console.WriteLine($"connect: {settings.Connections} connections at {settings.Rate}/s from {processes} process(es) …");

        IReadOnlyList<ShardResult> shards;
        IReadOnlyList<ResourceUse> connectUse, holdUse;
        IReadOnlyList<HostSample> holding;
        IReadOnlyList<HostSample>? holdEnd = null;
        if (processes == 1)
        {
            using var shard = new ConnectShard(settings with { Shards = 1, Shard = 0 }, target, tokens);
            await shard.ConnectAsync();
            connectUse = await connectWindow.EndAsync();
            await Task.Delay(Settle);
            holding = await hosts.SampleAsync();
            await holdWindow.StartAsync();
            IReadOnlyList<ResourceUse>? held = null;
            shards = [await shard.HoldAsync(TimeSpan.FromSeconds(settings.HoldSeconds), async () =>
            {
                holdEnd = await hosts.SampleAsync();
                held = await holdWindow.EndAsync();
            })];
            holdUse = held!;
        }
        else
        {
            var children = Enumerable.Range(0, processes).Select(k => StartChild(args, settings, k)).ToList();
            try
            {
                // The window reads the children's CPU itself (they are this process's children): their own word for it
                // would cover their own connect and hold, which start and end at other times than the window.
                await Task.WhenAll(children.Select(c => c.Connected.Task));
                connectUse = await connectWindow.EndAsync();
                await Task.Delay(Settle);
                holding = await hosts.SampleAsync();
                await holdWindow.StartAsync();
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(settings.HoldSeconds) + ChildGrace);

                // Every child still holds all its connections until told to close: the end of the hold is measured then,
                // memory and CPU alike, so that neither includes the closes.
                await Task.WhenAll(children.Select(c => c.Held.Task.WaitAsync(limit.Token)));
                holdEnd = await hosts.SampleAsync();
                holdUse = await holdWindow.EndAsync();
                foreach (var child in children)
                {
                    await child.CloseAsync();
                }

                shards = await Task.WhenAll(children.Select(c => c.Done.Task.WaitAsync(limit.Token)));
            }
            finally
            {
                foreach (var child in children)
                {
                    child.Stop();
                }
            }
        }

        var opened = shards.Sum(s => s.Opened);
        var connectSeconds = Math.Max(ShardResult.ConnectSeconds(shards), 1e-3);
        var report = new RunReport("connect").Started(start).Set("connections", settings.Connections).Set("rate", settings.Rate).Set("processes", processes)
            .Set("sourceAddresses", settings.SourceAddresses).Set("holdSeconds", settings.HoldSeconds)
            .Set("opened", opened).Set("failed", shards.Sum(s => s.Failed)).Set("refusedAndRetried", shards.Sum(s => s.Refused)).Set("dropped", shards.Sum(s => s.Dropped))
            .Set("connectSeconds", Math.Round(connectSeconds, 2)).Set("loginsPerSecond", Math.Round(opened / connectSeconds, 1))
            .Set("firstError", shards.Select(s => s.FirstError).FirstOrDefault(e => e is not null));
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"connect: {opened} of {settings.Connections} signed in over {connectSeconds:0.0} s = {opened / connectSeconds:0} logins/s; failed {shards.Sum(s => s.Failed)}, refused as busy and retried {shards.Sum(s => s.Refused)}, dropped during the {settings.HoldSeconds} s hold {shards.Sum(s => s.Dropped)}"));
        var perHost = holding.Select((sample, i) =>
            HostMemory.From(before[i], sample, holdEnd?[i] ?? sample, i < target.EdgeUrls.Count ? null : opened)).ToList();
        foreach (var host in perHost)
        {
            report.Line(host.Summary());
        }

        report.Set("memory", perHost);
        report.Line("  connect phase:");
        report.Resources(connectUse);
        report.Set("connectResources", connectUse);
        report.Line("  hold phase:");
        report.Resources(holdUse);
        report.Set("holdResources", holdUse);
        await report.WriteAsync(target.ResultsFile);
        return opened == settings.Connections ? 0 : 1;
    }

    private static async Task<int> RunChildAsync(ConnectSettings settings, LoadTarget target, BenchTokens tokens)
    {
        using var shard = new ConnectShard(settings, target, tokens);
        await shard.ConnectAsync();
        Console.WriteLine(ConnectedMarker);
        var result = await shard.HoldAsync(TimeSpan.FromSeconds(settings.HoldSeconds), async () =>
        {
            Console.WriteLine(HeldMarker);
            try
            {
                await Console.In.ReadLineAsync().WaitAsync(CloseWait);
            }
            catch (TimeoutException)
            {
                // The parent did not answer: close anyway.
            }
        });
        Console.WriteLine(DoneMarker + JsonSerializer.Serialize(result));
        return 0;
    }

    private const string TieredCompilationVariable = "DOTNET_TieredCompilation";

    private static Child StartChild(IReadOnlyList<string> args, ConnectSettings settings, int shard)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        var path = Environment.ProcessPath!;
        start.FileName = path;
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ConnectCommand).Assembly.Location);
        }

        start.ArgumentList.Add("connect");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var extra in new[] { "--shard", shard.ToString(CultureInfo.InvariantCulture), "--shards", settings.Processes.ToString(CultureInfo.InvariantCulture), "--user-prefix", settings.UserPrefix })
        {
            start.ArgumentList.Add(extra);
        }

        // A shard lives for one ramp of a few seconds, the very seconds measured: tiered compilation compiled its hot
        // paths two or three times over (quick, instrumented, optimised) meanwhile, half of a shard's CPU (~7 % of the
        // machine) while 19,000 users logged in. Compiled optimised once instead, unless the caller says otherwise.
        if (Environment.GetEnvironmentVariable(TieredCompilationVariable) is null)
        {
            start.Environment[TieredCompilationVariable] = "0";
        }

        var child = new Child(Process.Start(start)!);
        _ = child.ReadAsync();
        return child;
    }

    /// <summary>A child generator process and what it reported.</summary>
    private sealed class Child(Process process)
    {
        public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<ShardResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The child's hold ended and it waits, its connections still open, for <see cref="CloseAsync"/>.</summary>
        public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task CloseAsync()
        {
            await process.StandardInput.WriteLineAsync(CloseCommand);
            await process.StandardInput.FlushAsync();
        }

        public async Task ReadAsync()
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line == ConnectedMarker)
                {
                    Connected.TrySetResult();
                }
                else if (line == HeldMarker)
                {
                    Held.TrySetResult();
                }
                else if (line.StartsWith(DoneMarker, StringComparison.Ordinal))
                {
                    Done.TrySetResult(JsonSerializer.Deserialize<ShardResult>(line[DoneMarker.Length..])!);
                }
            }

            Connected.TrySetException(new InvalidOperationException($"generator child {process.Id} exited before connecting"));
            Held.TrySetException(new InvalidOperationException($"generator child {process.Id} exited before the end of its hold"));
            Done.TrySetException(new InvalidOperationException($"generator child {process.Id} exited before reporting"));
        }

        public void Stop()
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            process.Dispose();
        }
    }
}

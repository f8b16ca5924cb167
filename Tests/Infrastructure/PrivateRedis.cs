using System.Diagnostics;
using System.Globalization;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A Redis server of a test's own (started with <c>deploy/local/redis.sh</c>, append-only file on), for tests that stop
/// and start Redis — the run's shared Redis also holds cluster membership and must stay up.
/// </summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private readonly string _data;

    private PrivateRedis(int port, string data)
    {
        Port = port;
        _data = data;
    }

    public int Port { get; }

    public string ConnectionString => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    public static async Task<PrivateRedis> StartAsync()
    {
        var redis = new PrivateRedis(FreePorts.Next(), Path.Combine(Path.GetTempPath(), "im-test-redis-" + Guid.NewGuid().ToString("N")));
        await redis.StartAgainAsync();
        return redis;
    }

    /// <summary>Starts the server (again) on the same port and data directory: what it had persisted comes back.</summary>
    public Task StartAgainAsync() => RunScriptAsync("start");

    /// <summary>Stops the server (SIGTERM: it writes its append-only file and exits) and waits until it is gone.</summary>
    public Task StopAsync() => RunScriptAsync("stop");

    /// <summary>
    /// SIGSTOP: the server freezes with its connections open, so commands time out rather than fail to connect (as in a
    /// long fork for a save, a failover, a path that drops packets). <see cref="ResumeAsync"/> undoes it.
    /// </summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>SIGCONT: a paused server answers again, what it was sent meanwhile included.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(_data, recursive: true);
    }

    private async Task SignalAsync(string signal)
    {
        var pid = (await File.ReadAllTextAsync(Path.Combine(_data, "redis.pid"))).Trim();
        using var kill = Process.Start("kill", [signal, pid]);
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    private async Task RunScriptAsync(string verb)
    {
        var info = new ProcessStartInfo(Path.Combine(RepositoryPaths.Root, "deploy", "local", "redis.sh"), verb)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["IM_REDIS_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        info.Environment["IM_REDIS_DATA"] = _data;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"redis.sh {verb} failed: {await output}{await errors}");
    }
}

using System.Diagnostics;
using System.Globalization;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A PostgreSQL server of a test's own (started with <c>deploy/local/postgres.sh</c>), for tests that stop and start
/// PostgreSQL — the run's shared server serves every other test at the same time and must stay up.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string Database = "orleans_im_test";
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(120);
    private readonly string _data;

    private PrivatePostgres(int port, string data)
    {
        Port = port;
        _data = data;
    }

    public int Port { get; }

    public string ConnectionString => string.Create(CultureInfo.InvariantCulture,
        $"Host=127.0.0.1;Port={Port};Database={Database};Username=postgres;Maximum Pool Size=50");

    /// <summary>Initialises a new cluster in a fresh directory, starts it and creates the test database.</summary>
    public static async Task<PrivatePostgres> StartAsync()
    {
        // Under the temp directory: the postgres user must be able to reach it (see deploy/local/postgres.sh).
        var postgres = new PrivatePostgres(FreePorts.Next(), Path.Combine(Path.GetTempPath(), "im-test-pg-" + Guid.NewGuid().ToString("N")));
        await postgres.StartAgainAsync();
        return postgres;
    }

    /// <summary>Starts the server (again) on the same port and data directory: everything committed comes back.</summary>
    public Task StartAgainAsync() => RunScriptAsync("start");

    /// <summary>Stops the server (fast shutdown: open connections are cut, committed data is kept) and waits until it is gone.</summary>
    public Task StopAsync() => RunScriptAsync("stop");

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private async Task RunScriptAsync(string verb)
    {
        var info = new ProcessStartInfo(Path.Combine(RepositoryPaths.Root, "deploy", "local", "postgres.sh"), verb)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["IM_PG_PORT"] = Port.ToString(CultureInfo.InvariantCulture);
        info.Environment["IM_PG_DATA"] = _data;
        info.Environment["IM_PG_DATABASES"] = Database;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ScriptTimeout);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"postgres.sh {verb} failed: {await output}{await errors}");
    }
}

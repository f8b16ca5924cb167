using System.Collections.Concurrent;
using System.Diagnostics;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A real host process (silo or edge host) started by a test from its build output, configured only through
/// <c>IM__…</c> environment variables. Its output is kept for failure messages. Disposing kills it.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private const int MaxKeptLines = 400;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly string _project;

    private HostProcess(Process process, string healthUrl, string project)
    {
        _process = process;
        HealthUrl = healthUrl;
        _project = project;
    }

    public string HealthUrl { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The last lines the process wrote, for assertion messages.</summary>
    public string Output => string.Join('\n', _output);

    public static HostProcess Start(string project, int httpPort, IReadOnlyDictionary<string, string> environment) =>
        StartAssembly(RepositoryPaths.HostAssembly(project), project, [], $"http://127.0.0.1:{httpPort}/healthz", environment);

    /// <summary>
    /// Starts a program of the checkout (e.g. <c>Clients/RobotSamples/Orleans.Im.RobotSamples</c>) with arguments; it has no
    /// <c>/healthz</c>, so the test watches what it does instead.
    /// </summary>
    public static HostProcess StartProgram(string projectPath, string assemblyName, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment) =>
        StartAssembly(RepositoryPaths.ProgramAssembly(projectPath, assemblyName), assemblyName, arguments, "", environment);

    /// <summary>
    /// Starts a host's program to run a command and exit (e.g. the silo's <c>replay-events</c>), not as a server: it has
    /// no <c>/healthz</c>; wait for it with <see cref="WaitForExitAsync"/>.
    /// </summary>
    public static HostProcess StartCommand(string project, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment) =>
        StartAssembly(RepositoryPaths.HostAssembly(project), project, arguments, "", environment);

    /// <summary>Waits for the process to exit by itself and returns its exit code; throws when it does not in time.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    private static HostProcess StartAssembly(string assembly, string project, IReadOnlyList<string> arguments, string healthUrl, IReadOnlyDictionary<string, string> environment)
    {
        if (!File.Exists(assembly))
        {
            throw new FileNotFoundException($"{project} is not built at {assembly}; build the solution first.", assembly);
        }

        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(assembly);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        // Two cores are shared by the tests and every process they start: workstation GC keeps each one small.
        info.Environment["DOTNET_gcServer"] = "0";

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var host = new HostProcess(process, healthUrl, project);
        process.OutputDataReceived += (_, e) => host.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => host.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Waits until <c>/healthz</c> answers 200; throws with the process output when it does not in time.</summary>
    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Process exited with {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await Http.GetAsync(HealthUrl);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Timed out this probe; try again.
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"{HealthUrl} not healthy after {timeout}:\n{Output}");
    }

    /// <summary>SIGKILL: the process gets no chance to clean up, as in a crash.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGSTOP: the process freezes (sockets stay open, nothing answers), as a long GC pause or a stalled VM would.</summary>
    public Task PauseAsync() => SignalAsync("-STOP");

    /// <summary>SIGCONT: a paused process runs on from where it stopped.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    /// <summary>SIGTERM, then waits for a graceful exit; returns false (and kills it) when it did not stop in time.</summary>
    public async Task<bool> StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return true;
        }

        await SignalAsync("-TERM");
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        var pid = _process.Id;
        await KillAsync();
        _process.Dispose();

        // The last lines of every process a test started, for reading after a failure (CI keeps the checkout's .data/).
        var logs = Path.Combine(RepositoryPaths.Root, ".data", "test", "logs");
        Directory.CreateDirectory(logs);
        await File.WriteAllTextAsync(Path.Combine(logs, $"{_project}-{pid}.log"), Output);
    }

    private async Task SignalAsync(string signal)
    {
        if (_process.HasExited)
        {
            return;
        }

        using var kill = Process.Start("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > MaxKeptLines && _output.TryDequeue(out _))
        {
        }
    }
}

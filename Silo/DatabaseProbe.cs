using Npgsql;

namespace Orleans.Im.Silo;

/// <summary>
/// Whether this silo reaches PostgreSQL, for its readiness (<c>/readyz</c>): a silo that cannot reach it answers every
/// send to the conversations it hosts "unavailable" while it stays an active member. Asked at most once per
/// <see cref="CheckInterval"/> (probes and scrapes share the answer, and the check in progress), and failing only once no
/// check has passed for the grace (<see cref="SiloOptions.DatabaseGrace"/>), so that a blip neither takes the silo out
/// nor pages anyone. Every answer comes within <see cref="CheckTimeout"/>, whatever the network does: kubelet counts a
/// probe that outlasts its own timeout as failed, grace or not.
/// </summary>
public sealed class DatabaseProbe : IDisposable
{
    /// <summary>Checks closer together than this share the last one's answer.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>The longest a check waits for PostgreSQL, and so the longest an answer takes.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(2);

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeSpan _grace;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private Task _check = Task.CompletedTask;
    private long _lastCheck = long.MinValue;
    private long _lastReached;
    private string? _lastError;

    private DatabaseProbe(NpgsqlDataSource dataSource, TimeSpan grace, TimeProvider time)
    {
        _dataSource = dataSource;
        _grace = grace;
        _time = time;
    }

    /// <summary>
    /// A probe with connections of its own to <paramref name="connectionString"/>'s database, bounded in time: the grains'
    /// pool waits 15 s to connect, and a cancelled query there waits on a cancel request sent over a new connection, so
    /// through a network that drops packets one check took a minute and more, and every later probe waited on it.
    /// </summary>
    public static DatabaseProbe Create(string connectionString, TimeSpan grace, TimeProvider time)
    {
        var seconds = (int)Math.Ceiling(CheckTimeout.TotalSeconds);
        var settings = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Timeout = seconds,
            CommandTimeout = seconds,
            // No cancel request: the connection is given up at once (a cancel request needs a new connection, which is
            // what cannot be had).
            CancellationTimeout = -1,
            // One check at a time, and one kept between them.
            MaxPoolSize = 2,
            MinPoolSize = 0,
            Pooling = true,
        };
        return new DatabaseProbe(NpgsqlDataSource.Create(settings.ConnectionString), grace, time);
    }

    /// <summary>Null while PostgreSQL was reached within the grace; otherwise why not.</summary>
    public async Task<string?> UnreachableAsync(CancellationToken cancellationToken)
    {
        Task check;
        lock (_gate)
        {
            // A check still running (its network silent) is waited on, not joined by another: checks must not pile up
            // connections while the database cannot be reached.
            if (_check.IsCompleted && (_lastCheck == long.MinValue || _time.GetElapsedTime(_lastCheck) >= CheckInterval))
            {
                _lastCheck = _time.GetTimestamp();
                _check = CheckAsync();
            }

            check = _check;
        }

        try
        {
            await check.WaitAsync(CheckTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Still running: not reached by this answer's time; the grace decides, as for a failed check.
            _lastError ??= "PostgreSQL cannot be reached: " + nameof(TimeoutException);
        }

        return _lastReached != 0 && _time.GetElapsedTime(Volatile.Read(ref _lastReached)) <= _grace
            ? null
            : _lastError ?? "PostgreSQL not reached yet";
    }

    /// <summary>One check, shared by whoever asks while it runs; never throws.</summary>
    private async Task CheckAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(CheckTimeout);
            await using var command = _dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            Volatile.Write(ref _lastReached, _time.GetTimestamp());
            _lastError = null;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            // By its kind only: the message may name internal addresses, and the answer is served over HTTP.
            _lastError = "PostgreSQL cannot be reached: " + ex.GetType().Name;
        }
    }

    public void Dispose() => _dataSource.Dispose();
}

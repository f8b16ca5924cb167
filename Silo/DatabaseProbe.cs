using Npgsql;

namespace Orleans.Im.Silo;

/// <summary>
/// Whether this silo reaches PostgreSQL, for its readiness (<c>/readyz</c>): a silo that cannot reach it answers every
/// send to the conversations it hosts "unavailable" while it stays an active member. Asked at most once per
/// <see cref="CheckInterval"/> (probes and scrapes share the answer), and failing only once no check has passed for
/// <paramref name="grace"/> (<see cref="SiloOptions.DatabaseGrace"/>), so that a blip neither takes the silo out nor
/// pages anyone.
/// </summary>
public sealed class DatabaseProbe(NpgsqlDataSource dataSource, TimeSpan grace, TimeProvider time) : IDisposable
{
    /// <summary>Checks closer together than this share the last one's answer.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    /// <summary>The longest a check waits for PostgreSQL.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _checking = new(1, 1);
    private long _lastCheck = long.MinValue;
    private long _lastReached;
    private string? _lastError;

    /// <summary>Null while PostgreSQL was reached within the grace; otherwise why not.</summary>
    public async Task<string?> UnreachableAsync(CancellationToken cancellationToken)
    {
        await _checking.WaitAsync(cancellationToken);
        try
        {
            if (_lastCheck == long.MinValue || time.GetElapsedTime(_lastCheck) >= CheckInterval)
            {
                await CheckAsync(cancellationToken);
            }

            return _lastReached != 0 && time.GetElapsedTime(_lastReached) <= grace ? null : _lastError ?? "PostgreSQL not reached yet";
        }
        finally
        {
            _checking.Release();
        }
    }

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        _lastCheck = time.GetTimestamp();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CheckTimeout);
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            _lastReached = time.GetTimestamp();
            _lastError = null;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // By its kind only: the message may name internal addresses, and the answer is served over HTTP.
            _lastError = "PostgreSQL cannot be reached: " + ex.GetType().Name;
        }
    }

    public void Dispose() => _checking.Dispose();
}

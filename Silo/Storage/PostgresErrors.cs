using Npgsql;
using Orleans.Im.Storage;

namespace Orleans.Im.Silo.Storage;

/// <summary>Turns database failures into the storage contract's <see cref="StorageUnavailableException"/>.</summary>
internal static class PostgresErrors
{
    /// <summary>
    /// Runs a database operation; connection failures, timeouts and server errors become "unavailable". A value the
    /// database refuses (<see cref="IsRefusedValue"/>) is not: a retry of the same value fails the same way, so it
    /// is let through as it is.
    /// </summary>
    public static async Task<T> GuardAsync<T>(Func<Task<T>> operation, string what)
    {
        try
        {
            return await operation();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException
            && !IsRefusedValue(ex))
        {
            throw new StorageUnavailableException($"PostgreSQL could not {what}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc cref="GuardAsync{T}(Func{Task{T}}, string)"/>
    public static Task GuardAsync(Func<Task> operation, string what) =>
        GuardAsync(async () =>
        {
            await operation();
            return true;
        }, what);

    /// <summary>
    /// True when the database refused a value of what was written (SQLSTATE class 22, data exception, e.g. a NUL
    /// character in text or jsonb; class 23, integrity constraint violation, other than the unique violations the
    /// stores resolve themselves), or when a value could not even be sent (a string that is not valid UTF-16, a
    /// number JSON cannot hold). Such a write fails again however often it is retried.
    /// </summary>
    public static bool IsRefusedValue(Exception exception) => exception switch
    {
        PostgresException postgres => StorageFailures.IsRefusedValue(postgres.SqlState),
        // Npgsql's strict UTF-8 encoder (a lone surrogate), System.Text.Json (NaN): thrown before anything was sent.
        ArgumentException or System.Text.Json.JsonException => true,
        _ => false,
    };
}

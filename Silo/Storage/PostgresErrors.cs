using Npgsql;
using Orleans.Im.Storage;

namespace Orleans.Im.Silo.Storage;

/// <summary>Turns database failures into the storage contract's <see cref="StorageUnavailableException"/>.</summary>
internal static class PostgresErrors
{
    /// <summary>Runs a database operation; connection failures, timeouts and server errors become "unavailable".</summary>
    public static async Task<T> GuardAsync<T>(Func<Task<T>> operation, string what)
    {
        try
        {
            return await operation();
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException)
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
}

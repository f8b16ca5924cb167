using System.Data.Common;
using System.Net.Sockets;

namespace Orleans.Im.Storage;

/// <summary>Recognises failures of storage that a retry may cure, wherever they come from (our stores, Orleans' grain storage).</summary>
public static class StorageFailures
{
    // SQLSTATE 23505: two writers raced for one key. The stores resolve it themselves; where one does not, a retry
    // reads what the other wrote.
    private const string UniqueViolation = "23505";

    /// <summary>
    /// True when <paramref name="exception"/>, or one it wraps, is a database, timeout or network failure; false when
    /// the database refused a value of what was written (SQLSTATE class 22, data exception, or 23, integrity
    /// constraint violation, other than a unique violation), which fails again however often it is retried.
    /// </summary>
    public static bool IsTransient(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is DbException { SqlState: { } state } && IsRefusedValue(state))
            {
                return false;
            }
        }

        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is StorageUnavailableException or DbException or TimeoutException or SocketException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True for a SQLSTATE of class 22 (data exception, e.g. a NUL character in text or jsonb) or 23 (integrity
    /// constraint violation) other than a unique violation: the database refused a value of what was written.
    /// </summary>
    public static bool IsRefusedValue(string sqlState) =>
        sqlState != UniqueViolation && (sqlState.StartsWith("22", StringComparison.Ordinal) || sqlState.StartsWith("23", StringComparison.Ordinal));
}

using System.Data.Common;
using System.Net.Sockets;

namespace Orleans.Im.Storage;

/// <summary>Recognises failures of storage that a retry may cure, wherever they come from (our stores, Orleans' grain storage).</summary>
public static class StorageFailures
{
    /// <summary>True when <paramref name="exception"/>, or one it wraps, is a database, timeout or network failure.</summary>
    public static bool IsTransient(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is StorageUnavailableException or DbException or TimeoutException or SocketException)
            {
                return true;
            }
        }

        return false;
    }
}

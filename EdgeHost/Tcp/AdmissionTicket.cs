namespace Orleans.Im.EdgeHost.Tcp;

/// <summary>One admitted connection's place in the <see cref="ConnectionAdmission"/> counts; disposing it gives the place back.</summary>
public sealed class AdmissionTicket : IDisposable
{
    private readonly ConnectionAdmission _admission;
    private readonly string? _addressKey;
    private int _loggedIn;
    private int _disposed;

    internal AdmissionTicket(ConnectionAdmission admission, string? addressKey)
    {
        _admission = admission;
        _addressKey = addressKey;
    }

    /// <summary>The connection logged in: it no longer counts as unauthenticated.</summary>
    public void LoggedIn()
    {
        if (Interlocked.Exchange(ref _loggedIn, 1) == 0 && Volatile.Read(ref _disposed) == 0)
        {
            _admission.LoggedIn();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _admission.Closed(_addressKey, loggedIn: Volatile.Read(ref _loggedIn) == 1);
        }
    }
}

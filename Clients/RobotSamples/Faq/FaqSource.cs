using Microsoft.Extensions.Logging;

namespace Orleans.Im.RobotSamples.Faq;

/// <summary>
/// The FAQ book of a file, reloaded when the file changes. A change that does not parse is logged and the previous
/// book stays, so that a typo in the file never leaves the robot without answers.
/// </summary>
public sealed partial class FaqSource : IDisposable
{
    /// <summary>Editors write a file in several steps: reload once they are done.</summary>
    private static readonly TimeSpan ReloadDelay = TimeSpan.FromMilliseconds(300);

    private readonly string _path;
    private readonly ILogger<FaqSource> _logger;
    private readonly FileSystemWatcher _watcher;
    private readonly Timer _reload;
    private volatile FaqBook _book;

    private FaqSource(string path, FaqBook book, ILogger<FaqSource> logger)
    {
        _path = path;
        _book = book;
        _logger = logger;
        _reload = new Timer(_ => Reload());
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => _reload.Change(ReloadDelay, Timeout.InfiniteTimeSpan);
        _watcher.Created += (_, _) => _reload.Change(ReloadDelay, Timeout.InfiniteTimeSpan);
        _watcher.Renamed += (_, _) => _reload.Change(ReloadDelay, Timeout.InfiniteTimeSpan);
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>The book now.</summary>
    public FaqBook Book => _book;

    /// <summary>Loads the file and watches it; null (and the reason) when it cannot be read or parsed at start.</summary>
    public static FaqSource? Open(string path, ILogger<FaqSource> logger, out string? error)
    {
        var full = Path.GetFullPath(path);
        var book = TryLoad(full, out error);
        return book is null ? null : new FaqSource(full, book, logger);
    }

    public void Dispose()
    {
        _watcher.Dispose();
        _reload.Dispose();
    }

    /// <summary>
    /// Takes the file again. A boundary: it runs on a timer's thread, where an exception would end the robot's process,
    /// so whatever goes wrong leaves the previous answers.
    /// </summary>
    private void Reload()
    {
        FaqBook? book;
        string? error;
        try
        {
            book = TryLoad(_path, out error);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            (book, error) = (null, ex.Message);
        }

        if (book is not null)
        {
            _book = book;
            LogReloaded(_logger, _path, book.Entries.Count);
        }
        else
        {
            LogReloadFailed(_logger, _path, error ?? "unknown");
        }
    }

    private static FaqBook? TryLoad(string path, out string? error)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
            return null;
        }

        return FaqBook.Parse(json, out error);
    }

    [LoggerMessage(1, LogLevel.Information, "FAQ {Path} reloaded: {Count} entries")]
    private static partial void LogReloaded(ILogger logger, string path, int count);

    [LoggerMessage(2, LogLevel.Warning, "FAQ {Path} changed but was not loaded ({Reason}); keeping the previous answers")]
    private static partial void LogReloadFailed(ILogger logger, string path, string reason);
}

using System.Data.Common;
using Microsoft.AspNetCore.Diagnostics;
using Orleans.Serialization;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// The HTTP API's last boundary: a grain call that failed for want of the cluster or its storage (an Orleans timeout, a
/// silo going away, a failed state write) answers <c>503</c> with code <c>unavailable</c>, as the README promises, so
/// a client retries instead of reading an empty <c>500</c>. Anything else is a defect: <c>500</c>, code <c>internal</c>.
/// </summary>
public sealed partial class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(exception);
        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        var path = httpContext.Request.Path.Value ?? "";
        if (IsUnavailable(exception))
        {
            LogUnavailable(logger, path, exception.GetType().Name, exception.Message);
            httpContext.Response.Headers.RetryAfter = "1";
            await ApiProblems.Unavailable().ExecuteAsync(httpContext);
            return true;
        }

        LogFailed(logger, exception, path);
        await ApiProblems.Problem(StatusCodes.Status500InternalServerError, "internal", "The request failed.").ExecuteAsync(httpContext);
        return true;
    }

    /// <summary>
    /// Failures of the cluster or its storage, which pass: Orleans' own (timeouts, silos gone, rejected messages, state
    /// write conflicts), the database's, and a silo's exception whose type this host does not know (its storage driver's).
    /// </summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        TimeoutException or OrleansException or DbException or UnavailableExceptionFallbackException => true,
        AggregateException { InnerExceptions.Count: > 0 } aggregate => aggregate.InnerExceptions.All(IsUnavailable),
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };

    [LoggerMessage(1, LogLevel.Warning, "{Path}: the cluster is unavailable ({Exception}: {Reason}); answered 503")]
    private static partial void LogUnavailable(ILogger logger, string path, string exception, string reason);

    [LoggerMessage(2, LogLevel.Error, "{Path}: the request failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string path);
}

namespace Orleans.Im.Silo.Logging;

/// <summary>
/// Console logging of the silo: plain text by default; one JSON object per line with scopes when <c>IM:Logging:Json</c>
/// is true (environment <c>IM__Logging__Json=true</c>), for log shippers in containers. The edge host reads the same setting.
/// </summary>
public static class ImLogging
{
    /// <summary>The setting that turns JSON logs on.</summary>
    public const string JsonSetting = "IM:Logging:Json";

    public static ILoggingBuilder AddImConsole(this ILoggingBuilder logging, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!configuration.GetValue<bool>(JsonSetting))
        {
            return logging;
        }

        logging.ClearProviders();
        logging.AddJsonConsole(json =>
        {
            json.IncludeScopes = true;
            json.UseUtcTimestamp = true;
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        return logging;
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Orleans.Im.Hosting;

/// <summary>Binds options from configuration and checks them when the host starts, not when first used.</summary>
public static class ValidatedOptions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from <paramref name="section"/> and checks it with
    /// <see cref="ConfigurationSectionValidator{TOptions}"/> at start: a host with a value out of bounds refuses to start,
    /// and says which key to change.
    /// </summary>
    /// <typeparam name="TOptions">The options class.</typeparam>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The host's configuration.</param>
    /// <param name="section">The section, e.g. <c>IM:Edge</c>.</param>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions>(this IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSingleton<IValidateOptions<TOptions>>(new ConfigurationSectionValidator<TOptions>(section));
        return services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }

    /// <summary>
    /// Checks every option registered for start-up validation now, before a host does anything else (waits for its
    /// database, maps endpoints that read options): a value out of bounds is then one log line naming its key, not a
    /// stack trace or a silent wait.
    /// </summary>
    /// <param name="services">The built host's services.</param>
    /// <param name="failure">What is wrong, when false.</param>
    /// <returns>True when every option is within its bounds (or none is registered for start-up validation).</returns>
    public static bool TryValidateOptions(this IServiceProvider services, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? failure)
    {
        ArgumentNullException.ThrowIfNull(services);
        failure = null;
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
            return true;
        }
        catch (OptionsValidationException ex)
        {
            failure = ex.Message;
            return false;
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            // Several options classes failed: each says what is wrong with it.
            failure = string.Join("; ", ex.InnerExceptions.Select(e => e.Message));
            return false;
        }
    }
}

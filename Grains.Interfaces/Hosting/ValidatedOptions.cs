using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Orleans.Im.Hosting;

/// <summary>Binds options from configuration and checks them when the host starts, not when first used.</summary>
public static class ValidatedOptions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from <paramref name="section"/> and checks it with
    /// <see cref="ConfigurationSectionValidator{TOptions}"/> and <see cref="SectionKeysValidator{TOptions}"/> at start: a
    /// host with a value out of bounds, a key that names no setting (<c>IM__Edge__IdleTimout</c>) or a time span written
    /// as a bare number refuses to start, and says which key to change.
    /// </summary>
    /// <typeparam name="TOptions">The options class.</typeparam>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The host's configuration.</param>
    /// <param name="section">The section, e.g. <c>IM:Edge</c>.</param>
    /// <param name="retiredKeys">Settings of the section that earlier releases had: still taken (and ignored) when set.</param>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions>(this IServiceCollection services, IConfiguration configuration, string section,
        IReadOnlyCollection<string>? retiredKeys = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSingleton<IValidateOptions<TOptions>>(new ConfigurationSectionValidator<TOptions>(section));
        services.AddSingleton<IValidateOptions<TOptions>>(new SectionKeysValidator<TOptions>(configuration, section, Options.DefaultName, valuesOnly: true, retiredKeys));
        return services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }

    /// <summary>
    /// Checks at start what <paramref name="section"/> says for <typeparamref name="TOptions"/>, an options class that is
    /// not ours and carries no bounds (<see cref="SectionKeysValidator{TOptions}"/>): misspelt keys and time spans
    /// written as bare numbers stop the host, named by their keys.
    /// </summary>
    /// <typeparam name="TOptions">The options class, e.g. Orleans' <c>ClusterMembershipOptions</c>.</typeparam>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The host's configuration.</param>
    /// <param name="section">The section it is bound from.</param>
    /// <param name="optionsName">The options instance bound from it; the default instance when null.</param>
    public static IServiceCollection CheckForeignSection<TOptions>(this IServiceCollection services, IConfiguration configuration, string section, string? optionsName = null)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var name = optionsName ?? Options.DefaultName;
        services.AddSingleton<IValidateOptions<TOptions>>(new SectionKeysValidator<TOptions>(configuration, section, name));
        services.AddOptions<TOptions>(name).ValidateOnStart();
        return services;
    }

    /// <summary>
    /// Builds a host and checks its options before it does anything else (waits for its database, maps endpoints that read
    /// options): a value out of bounds is then one line naming its key and the process can exit, not a stack trace or a
    /// silent wait. Some options are read while the host is built (a cluster client's services), before its logging
    /// exists: those are said on standard error; the others through <paramref name="logInvalid"/>.
    /// </summary>
    /// <typeparam name="THost">The host, e.g. a web application.</typeparam>
    /// <param name="build">Builds it.</param>
    /// <param name="logInvalid">Logs, with the built host's logging, what is out of bounds.</param>
    /// <returns>The host, or null once an option out of bounds was reported.</returns>
    public static async Task<THost?> BuildWithValidOptionsAsync<THost>(Func<THost> build, Action<THost, string> logInvalid)
        where THost : class, IHost
    {
        ArgumentNullException.ThrowIfNull(build);
        ArgumentNullException.ThrowIfNull(logInvalid);
        THost host;
        try
        {
            host = build();
        }
        catch (Exception ex) when (ex is OptionsValidationException || IsUnreadableValue(ex))
        {
            // Boundary: no logging yet.
            await Console.Error.WriteLineAsync($"Cannot start: {ex.Message}");
            return null;
        }

        if (!TryValidateOptions(host.Services, out var failure))
        {
            logInvalid(host, failure);
            // The console logger writes from a queue of its own: disposing the host's services flushes it. The process
            // returns at once after this, and without the flush the one line that says what to change could be lost.
            if (host is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync();
            }
            else
            {
                host.Dispose();
            }

            return null;
        }

        return host;
    }

    /// <summary>
    /// Reads options a host needs before it is built (its URLs and ports), or says why it cannot: a value that cannot be
    /// read as its setting's type, named by its key. Unset, the defaults.
    /// </summary>
    /// <typeparam name="TOptions">The options class.</typeparam>
    /// <param name="configuration">The host's configuration.</param>
    /// <param name="section">The section, e.g. <c>IM:Silo</c>.</param>
    /// <param name="options">The options, when they could be read.</param>
    /// <param name="failure">What could not be read, otherwise.</param>
    public static bool TryRead<TOptions>(IConfiguration configuration, string section,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TOptions? options,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? failure)
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(configuration);
        try
        {
            options = configuration.GetSection(section).Get<TOptions>() ?? new TOptions();
            failure = null;
            return true;
        }
        catch (InvalidOperationException ex) when (IsUnreadableValue(ex))
        {
            options = null;
            failure = ex.Message;
            return false;
        }
    }

    /// <summary>Checks every option registered for start-up validation now; what is wrong when false.</summary>
    private static bool TryValidateOptions(IServiceProvider services, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? failure)
    {
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
        catch (InvalidOperationException ex) when (IsUnreadableValue(ex))
        {
            failure = ex.Message;
            return false;
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException || IsUnreadableValue(e)))
        {
            // Several options classes failed: each says what is wrong with it.
            failure = string.Join("; ", ex.InnerExceptions.Select(e => e.Message));
            return false;
        }
    }

    /// <summary>
    /// The configuration binder could not read a value as its setting's type (<c>IdleTimeout=abc</c>); its message names
    /// the key and the value ("Failed to convert configuration value 'abc' at 'IM:Edge:IdleTimeout' to type
    /// 'System.TimeSpan'"), which is all an operator needs, not its stack trace.
    /// </summary>
    private static bool IsUnreadableValue(Exception exception) =>
        exception is InvalidOperationException { InnerException: FormatException or ArgumentException or OverflowException } unreadable
        && unreadable.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal);
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Im.Conversations;
using Orleans.Im.CustomerService;
using Orleans.Im.EdgeHost;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Configuration;
using Orleans.Im.Hosting;
using Orleans.Im.Robots;
using Orleans.Im.Rooms;
using Orleans.Im.Silo.Events;
using Orleans.Im.Silo.Stats;
using Orleans.Im.Silo.Storage;
using Orleans.Im.Silo.Webhooks;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Operations;

/// <summary>
/// Options are checked when a host starts (<see cref="ValidatedOptions.AddValidatedOptions{TOptions}"/>): configuration
/// reads a bare number as days, so <c>IM__Edge__IdleTimeout=120</c> would otherwise start an edge that never closes an
/// idle connection.
/// </summary>
[Trait("Category", "Unit")]
public sealed class OptionsValidationTests
{
    [Fact]
    public void Every_default_is_within_its_bounds()
    {
        // Every options class the hosts bind, unconfigured: a default outside its own bounds would stop every host.
        Assert.NotNull(Resolve<ConversationOptions>(ConversationOptions.Section));
        Assert.NotNull(Resolve<RoomOptions>(RoomOptions.Section));
        Assert.NotNull(Resolve<UserOptions>(UserOptions.Section));
        Assert.NotNull(Resolve<CustomerServiceOptions>(CustomerServiceOptions.Section));
        Assert.NotNull(Resolve<GroupCommitOptions>(GroupCommitOptions.Section));
        Assert.NotNull(Resolve<FirehoseOptions>(FirehoseOptions.Section));
        Assert.NotNull(Resolve<StatsOptions>(StatsOptions.Section));
        Assert.NotNull(Resolve<WebhookOptions>(WebhookOptions.Section));
        Assert.NotNull(Resolve<EdgeOptions>(EdgeOptions.Section));
        Assert.NotNull(Resolve<AuthOptions>(AuthOptions.Section));
    }

    [Fact]
    public void A_time_span_in_bounds_is_taken()
    {
        var options = Resolve<EdgeOptions>(EdgeOptions.Section, ("IdleTimeout", "00:03:00"), ("HeartbeatInterval", "00:01:00"));

        Assert.Equal(TimeSpan.FromMinutes(3), options.IdleTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), options.HeartbeatInterval);
    }

    [Theory]
    [InlineData(EdgeOptions.Section, "IdleTimeout", "120")] // 120 days: idle connections would never be closed
    [InlineData(EdgeOptions.Section, "LoginQueueTimeout", "-00:00:01")]
    [InlineData(UserOptions.Section, "PresenceGrace", "30")] // 30 days before anyone is seen offline
    [InlineData(FirehoseOptions.Section, "MaxRetryDelay", "2")]
    [InlineData(WebhookOptions.Section, "RequestTimeout", "00:00:00")]
    public void A_time_span_out_of_bounds_names_its_key_and_says_how_to_write_it(string section, string key, string value)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => section switch
        {
            EdgeOptions.Section => (object)Resolve<EdgeOptions>(section, (key, value)),
            UserOptions.Section => Resolve<UserOptions>(section, (key, value)),
            FirehoseOptions.Section => Resolve<FirehoseOptions>(section, (key, value)),
            _ => Resolve<WebhookOptions>(section, (key, value)),
        });

        Assert.Contains($"{section}:{key} must be between", refused.Message, StringComparison.Ordinal);
        Assert.Contains("a bare number is read as days", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(GroupCommitOptions.Section, "Concurrency", "0")]
    [InlineData(EdgeOptions.Section, "MaxConcurrentLogins", "0")]
    [InlineData(EdgeOptions.Section, "MaxFrameBytes", "-1")]
    public void A_count_out_of_bounds_names_its_key(string section, string key, string value)
    {
        var refused = Assert.Throws<OptionsValidationException>(() => section == EdgeOptions.Section
            ? (object)Resolve<EdgeOptions>(section, (key, value))
            : Resolve<GroupCommitOptions>(section, (key, value)));

        Assert.Contains($"{section}:{key} must be between", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trusted_proxies_are_addresses_or_networks()
    {
        var options = Resolve<EdgeOptions>(EdgeOptions.Section, ("TrustedProxies:0", "172.30.240.10"), ("TrustedProxies:1", "10.0.0.0/8"), ("TrustedProxies:2", "::1"));
        Assert.Equal(3, options.TrustedProxies.Count);

        var refused = Assert.Throws<OptionsValidationException>(() =>
            Resolve<EdgeOptions>(EdgeOptions.Section, ("TrustedProxies:0", "nginx")));
        Assert.Contains("IM:Edge:TrustedProxies", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'nginx' is neither an IP address nor a network", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_admin_api_key_shorter_than_the_minimum_is_refused_without_being_logged()
    {
        // A placeholder left in a manifest would otherwise open the admin API to anyone who read the example.
        var refused = Assert.Throws<OptionsValidationException>(() => Resolve<AuthOptions>(AuthOptions.Section, ("AdminApiKey", "CHANGE-ME")));
        Assert.Contains($"IM:Auth:AdminApiKey must be at least {AuthOptions.MinAdminApiKeyLength} characters (it has 9)", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("CHANGE-ME", refused.Message, StringComparison.Ordinal);

        var shortest = new string('k', AuthOptions.MinAdminApiKeyLength);
        Assert.Equal(shortest, Resolve<AuthOptions>(AuthOptions.Section, ("AdminApiKey", shortest)).AdminApiKey);
        Assert.Throws<OptionsValidationException>(() => Resolve<AuthOptions>(AuthOptions.Section, ("AdminApiKey", shortest[1..])));
        // Empty turns the trusted-system endpoints off; that is allowed.
        Assert.Equal("", Resolve<AuthOptions>(AuthOptions.Section, ("AdminApiKey", "")).AdminApiKey);
    }

    [Fact]
    public void The_internal_listener_needs_an_http_url_on_a_port_of_its_own()
    {
        Assert.Equal("http://0.0.0.0:5081", Resolve<EdgeOptions>(EdgeOptions.Section, ("HttpUrl", "http://0.0.0.0:5080"), ("InternalHttpUrl", "http://0.0.0.0:5081")).InternalHttpUrl);

        var samePort = Assert.Throws<OptionsValidationException>(() =>
            Resolve<EdgeOptions>(EdgeOptions.Section, ("HttpUrl", "http://0.0.0.0:5080"), ("InternalHttpUrl", "http://127.0.0.1:5080")));
        Assert.Contains("IM:Edge:InternalHttpUrl must use another port than HttpUrl (5080)", samePort.Message, StringComparison.Ordinal);

        var notAUrl = Assert.Throws<OptionsValidationException>(() => Resolve<EdgeOptions>(EdgeOptions.Section, ("InternalHttpUrl", "5081")));
        Assert.Contains("IM:Edge:InternalHttpUrl '5081' is not an http:// URL", notAUrl.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_heartbeat_at_or_above_the_idle_timeout_is_refused()
    {
        // Each within its own bounds, but clients told to ping every 2 minutes would be cut after 1 minute of quiet.
        var refused = Assert.Throws<OptionsValidationException>(() =>
            Resolve<EdgeOptions>(EdgeOptions.Section, ("IdleTimeout", "00:01:00"), ("HeartbeatInterval", "00:02:00")));

        Assert.Contains("IM:Edge:HeartbeatInterval must be below IdleTimeout", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_failure_is_reported_at_once()
    {
        var refused = Assert.Throws<OptionsValidationException>(() =>
            Resolve<EdgeOptions>(EdgeOptions.Section, ("LoginTimeout", "10"), ("DrainTimeout", "20")));

        Assert.Contains("IM:Edge:LoginTimeout", refused.Message, StringComparison.Ordinal);
        Assert.Contains("IM:Edge:DrainTimeout", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_key_in_our_own_sections_is_named_and_a_subsection_is_left_to_its_own_options()
    {
        // Misspelt, it would start an edge with the default (an idle timeout of 2 minutes where 5 were meant) without a word.
        var refused = Assert.Throws<OptionsValidationException>(() =>
            Resolve<EdgeOptions>(EdgeOptions.Section, ("IdleTimout", "00:05:00")));
        Assert.Contains("IM:Edge:IdleTimout is not a setting of EdgeOptions", refused.Message, StringComparison.Ordinal);
        Assert.Contains("IdleTimeout", refused.Message, StringComparison.Ordinal);

        // Any case, as configuration binds it; a list is a subsection of its setting; another options class's section
        // under this one (IM:Edge:Nested:…) is that class's to check.
        var options = Resolve<EdgeOptions>(EdgeOptions.Section, ("idletimeout", "00:05:00"), ("AllowedOrigins:0", "https://chat.example"),
            ("Nested:Anything", "1"));
        Assert.Equal((TimeSpan.FromMinutes(5), "https://chat.example"), (options.IdleTimeout, Assert.Single(options.AllowedOrigins)));

        // A setting an earlier release had: an upgraded host whose configuration still sets it starts.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([KeyValuePair.Create<string, string?>($"{EdgeOptions.Section}:StatsReportInterval", "00:00:10")])
            .Build();
        var services = new ServiceCollection();
        services.AddValidatedOptions<EdgeOptions>(configuration, EdgeOptions.Section, EdgeOptions.RetiredKeys);
        using var provider = services.BuildServiceProvider();
        Assert.NotNull(provider.GetRequiredService<IOptions<EdgeOptions>>().Value);
    }

    [Fact]
    public void A_robot_needs_an_id_and_bounded_settings()
    {
        Assert.Equal("bot", Resolve<RobotOptions>(RobotOptions.Section, ("RobotId", "bot")).RobotId);

        var noId = Assert.Throws<OptionsValidationException>(() => Resolve<RobotOptions>(RobotOptions.Section));
        Assert.Contains("IM:Robot:RobotId is required", noId.Message, StringComparison.Ordinal);

        var refused = Assert.Throws<OptionsValidationException>(() => Resolve<RobotOptions>(RobotOptions.Section,
            ("RobotId", "bot"), ("MaxConcurrency", "0"), ("CatchUpInterval", "30")));
        Assert.Contains("IM:Robot:MaxConcurrency must be between 1 and 256", refused.Message, StringComparison.Ordinal);
        Assert.Contains("IM:Robot:CatchUpInterval must be between", refused.Message, StringComparison.Ordinal);

        // Each in bounds, but the first retry would wait longer than the longest.
        var inverted = Assert.Throws<OptionsValidationException>(() => Resolve<RobotOptions>(RobotOptions.Section,
            ("RobotId", "bot"), ("RetryDelay", "00:01:00"), ("MaxRetryDelay", "00:00:10")));
        Assert.Contains("IM:Robot:RetryDelay must not be above MaxRetryDelay", inverted.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Orleans_membership_settings_are_taken_when_spelt_right_and_written_as_time_spans()
    {
        var options = ResolveForeign<ClusterMembershipOptions>(Silo.SiloOptions.MembershipSection, null,
            ("ProbeTimeout", "00:00:05"), ("numMissedProbesLimit", "2"));

        Assert.Equal(TimeSpan.FromSeconds(5), options.ProbeTimeout);
        Assert.Equal(2, options.NumMissedProbesLimit);
    }

    [Fact]
    public void An_orleans_setting_misspelt_or_given_a_bare_number_for_a_time_span_is_named()
    {
        // Both would start a silo silently: the first keeps Orleans' default, the second waits five days for a probe.
        var refused = Assert.Throws<OptionsValidationException>(() => ResolveForeign<ClusterMembershipOptions>(
            Silo.SiloOptions.MembershipSection, null, ("ProbTimeout", "00:00:05"), ("TableRefreshTimeout", "5")));

        Assert.Contains("IM:Silo:Membership:ProbTimeout is not a setting of ClusterMembershipOptions", refused.Message, StringComparison.Ordinal);
        Assert.Contains("IM:Silo:Membership:TableRefreshTimeout must be written as a time span", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_stream_pulling_agents_named_options_are_checked()
    {
        // Meant as 20 ms, read as 20 days: every room and stream-path push would wait for it.
        var refused = Assert.Throws<OptionsValidationException>(() => ResolveForeign<StreamPullingAgentOptions>(
            Silo.SiloHosting.PullingAgentSection, Streams.StreamNames.Provider, ("GetQueueMsgsTimerPeriod", "20")));

        Assert.Contains("IM:Streams:PullingAgent:GetQueueMsgsTimerPeriod must be written as a time span", refused.Message, StringComparison.Ordinal);
    }

    private static TOptions ResolveForeign<TOptions>(string section, string? name, params (string Key, string Value)[] settings)
        where TOptions : class
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create<string, string?>($"{section}:{s.Key}", s.Value)))
            .Build();
        var services = new ServiceCollection();
        services.Configure<TOptions>(name ?? Options.DefaultName, configuration.GetSection(section));
        services.CheckForeignSection<TOptions>(configuration, section, name);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name ?? Options.DefaultName);
    }

    private static TOptions Resolve<TOptions>(string section, params (string Key, string Value)[] settings)
        where TOptions : class
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create<string, string?>($"{section}:{s.Key}", s.Value)))
            .Build();
        var services = new ServiceCollection();
        services.AddValidatedOptions<TOptions>(configuration, section);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<TOptions>>().Value;
    }
}

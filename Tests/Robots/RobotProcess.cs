using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Robots;

/// <summary>
/// A sample robot as a real process (<c>Clients/RobotSamples</c>), an Orleans client of the test cluster; it is online
/// once its user grain lists its device on a connection of its own.
/// </summary>
internal static class RobotProcess
{
    /// <summary>How long a robot process may take to start and come online on a busy machine.</summary>
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(90);

    /// <summary>Starts <c>Orleans.Im.RobotSamples</c> with <paramref name="arguments"/> and waits until the robot is online.</summary>
    public static Task<(HostProcess Process, string ConnectionId)> StartAsync(
        EdgeFixture fixture, string robotId, IReadOnlyList<string> arguments, string? previousConnectionId = null) =>
        StartAsync(fixture.Cluster, fixture.Orleans, robotId, arguments, previousConnectionId);

    /// <summary>Starts <c>Orleans.Im.RobotSamples</c> in <paramref name="cluster"/> and waits (asking <paramref name="orleans"/>) until the robot is online.</summary>
    public static async Task<(HostProcess Process, string ConnectionId)> StartAsync(
        SiloCluster cluster, IClusterClient orleans, string robotId, IReadOnlyList<string> arguments, string? previousConnectionId = null)
    {
        var process = HostProcess.StartProgram(Path.Combine("Clients", "RobotSamples"), "Orleans.Im.RobotSamples", [.. arguments, "--robot", robotId],
            new Dictionary<string, string>
            {
                ["IM__ClusterId"] = cluster.ClusterId,
                ["IM__ServiceId"] = cluster.ServiceId,
                ["IM__Redis__ConnectionString"] = TestServices.RedisConnectionString,
                ["IM__Robot__Secret"] = ApiCalls.Password,
                // Push is a hint; the catch-up is the net under it. Short here, so a lost push costs a test seconds.
                ["IM__Robot__CatchUpInterval"] = "00:00:02",
            });
        try
        {
            var devices = await Eventually.ReturnsAsync(
                () => orleans.GetGrain<IUserGrain>(robotId).GetDevicesAsync(),
                ds => process.HasExited || ds.Any(d => d.Platform == "robot" && d.ConnectionId != previousConnectionId),
                StartPatience);
            var device = devices.FirstOrDefault(d => d.Platform == "robot" && d.ConnectionId != previousConnectionId);
            Assert.False(device is null, $"robot {robotId} did not come online:\n{process.Output}");
            return (process, device.ConnectionId);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }
}

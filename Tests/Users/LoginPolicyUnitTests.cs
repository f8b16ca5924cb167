using Orleans.Im.Users;

namespace Orleans.Im.Tests.Users;

[Trait("Category", "Unit")]
public sealed class LoginPolicyUnitTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.UnixEpoch;

    [Theory]
    [InlineData("ios", "mobile")]
    [InlineData("Android", "mobile")]
    [InlineData("macos", "desktop")]
    [InlineData("web", "web")]
    [InlineData("fridge", "other")]
    public void Platforms_fall_into_classes(string platform, string deviceClass) => Assert.Equal(deviceClass, LoginPolicy.ClassOf(platform));

    [Fact]
    public void Beyond_the_limit_the_longest_connected_devices_of_the_class_leave()
    {
        var options = new UserOptions { MaxWebDevices = 2 };
        var online = new[]
        {
            new DeviceSession("web-1", "web", "edge", Start),
            new DeviceSession("web-2", "web", "edge", Start.AddMinutes(1)),
            new DeviceSession("phone", "ios", "edge", Start),
        };

        var evicted = LoginPolicy.Evictions(online, new DeviceSession("web-3", "web", "edge", Start.AddMinutes(2)), options);

        Assert.Equal(["web-1"], evicted.Select(d => d.DeviceId));
        Assert.Empty(LoginPolicy.Evictions(online, new DeviceSession("web-2", "web", "edge", Start.AddMinutes(3)), options));
    }
}

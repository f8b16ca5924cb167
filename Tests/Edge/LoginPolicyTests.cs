using Orleans.Im.Client;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class LoginPolicyTests(EdgeFixture fixture)
{
    [Fact]
    public async Task A_second_mobile_device_kicks_the_first_with_a_reason_and_desktop_and_web_stay()
    {
        var alice = Ids.User("alice");
        await using var iphone = await Connect(alice, "iphone", "ios");
        await using var laptop = await Connect(alice, "laptop", "linux");
        await using var browser = await Connect(alice, "browser", "web");

        await using var android = await Connect(alice, "android", "android");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        V1.Event kick;
        do
        {
            kick = await iphone.Events.ReadAsync(cts.Token);
        }
        while (kick.KindCase != V1.Event.KindOneofCase.Kick);
        Assert.Contains("mobile", kick.Kick.Reason, StringComparison.Ordinal);
        var status = await Eventually.ReturnsAsync(() => Task.FromResult(iphone.Status), s => s == ImClientStatus.WaitingForReconnect);
        Assert.Equal(ImClientStatus.WaitingForReconnect, status);

        var devices = await Eventually.ReturnsAsync(() => fixture.Orleans.GetGrain<IUserGrain>(alice).GetDevicesAsync(), d => d.Count == 3);
        Assert.Equal(["android", "browser", "laptop"], devices.Select(d => d.DeviceId).Order());
        Assert.True(await laptop.PingAsync() > 0);
        Assert.True(await browser.PingAsync() > 0);
        Assert.True(await android.PingAsync() > 0);
    }

    private async Task<ImClient> Connect(string userId, string deviceId, string platform)
    {
        var client = fixture.NewClient(userId, deviceId, platform: platform);
        await client.ConnectAsync();
        return client;
    }
}

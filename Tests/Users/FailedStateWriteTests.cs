using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using Orleans.Storage;

namespace Orleans.Im.Tests.Users;

/// <summary>A user grain whose state write fails (storage unreachable) and what its caller's retry, or the user's peers, see.</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class FailedStateWriteTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_shop_watch_whose_write_failed_is_written_by_the_retry()
    {
        var agent = Ids.User("agent");
        var shop = Ids.User("shop");
        var user = fixture.Client.GetGrain<IUserGrain>(agent);
        var grain = GrainId.Create("user", agent);

        fixture.StorageFaults.Fail(grain);
        await Assert.ThrowsAsync<OrleansException>(() => user.WatchPresenceForShopAsync(shop, true));
        fixture.StorageFaults.Heal(grain);
        await user.WatchPresenceForShopAsync(shop, true);

        Assert.Contains(shop, (await StoredAsync(grain)).PresenceWatchingShops);
    }

    private async Task<UserState> StoredAsync(GrainId grain)
    {
        var stored = new GrainState<UserState>(new UserState());
        await fixture.SiloServices.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains).ReadStateAsync("user", grain, stored);
        return stored.State!;
    }
}

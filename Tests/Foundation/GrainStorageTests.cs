using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using Orleans.Storage;

namespace Orleans.Im.Tests.Foundation;

/// <summary>The Orleans ADO.NET storage contract, on our PostgreSQL schema.</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Integration")]
public sealed class GrainStorageTests(ClusterFixture fixture)
{
    private const string StateName = "user";

    private IGrainStorage Storage => fixture.SiloServices.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);

    [Fact]
    public async Task A_stale_writer_gets_InconsistentStateException_and_changes_nothing()
    {
        var id = GrainId.Create("user", "stale-" + Guid.NewGuid().ToString("N"));
        var first = await ReadAsync(id);
        var second = await ReadAsync(id);

        first.State!.Profile = new UserProfile("first", null);
        await Storage.WriteStateAsync(StateName, id, first);

        // The second writer read before the first wrote: its version is stale.
        second.State!.Profile = new UserProfile("second", null);
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, id, second));

        // Also a stale writer of an existing row (both read version 1, one writes version 2).
        var third = await ReadAsync(id);
        var fourth = await ReadAsync(id);
        third.State!.Profile = new UserProfile("third", null);
        await Storage.WriteStateAsync(StateName, id, third);
        fourth.State!.Profile = new UserProfile("fourth", null);
        await Assert.ThrowsAsync<InconsistentStateException>(() => Storage.WriteStateAsync(StateName, id, fourth));

        Assert.Equal("third", (await ReadAsync(id)).State!.Profile?.DisplayName);
    }

    [Fact]
    public async Task State_round_trips_and_clear_leaves_no_state()
    {
        var id = GrainId.Create("user", "roundtrip-" + Guid.NewGuid().ToString("N"));
        var state = await ReadAsync(id);
        Assert.False(state.RecordExists);

        state.State!.Profile = new UserProfile("Ada Lovelace", "https://example.invalid/ada.png");
        await Storage.WriteStateAsync(StateName, id, state);
        var read = await ReadAsync(id);
        Assert.True(read.RecordExists);
        Assert.Equal(state.State!.Profile, read.State!.Profile);
        Assert.Equal(state.ETag, read.ETag);

        await Storage.ClearStateAsync(StateName, id, read);
        var cleared = await ReadAsync(id);
        Assert.Null(cleared.State!.Profile);
    }

    [Fact]
    public async Task A_grain_whose_state_was_changed_by_another_writer_cannot_overwrite_it()
    {
        var userId = "grain-stale-" + Guid.NewGuid().ToString("N");
        var grain = fixture.Client.GetGrain<IUserGrain>(userId);
        Assert.True(await grain.SetProfileAsync(new UserProfile("original", null)));

        // Another writer (say, an activation on a silo that was wrongly thought dead) bumps the stored version.
        var id = GrainId.Create("user", userId);
        var other = await ReadAsync(id);
        other.State!.Profile = new UserProfile("other writer", null);
        await Storage.WriteStateAsync(StateName, id, other);

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.SetProfileAsync(new UserProfile("stale", null)));
        Assert.Equal("other writer", (await ReadAsync(id)).State!.Profile?.DisplayName);
    }

    private async Task<GrainState<UserState>> ReadAsync(GrainId id)
    {
        var state = new GrainState<UserState>(new UserState());
        await Storage.ReadStateAsync(StateName, id, state);
        return state;
    }
}

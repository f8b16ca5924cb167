using Orleans.Im.Messages;
using Orleans.Im.Organization;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Organization;

/// <summary>A directory change whose write fails (storage unreachable): the retry writes it, under a version not handed out before.</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class OrgDirectoryWriteTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_department_whose_write_failed_is_written_by_the_retry_and_outlives_the_activation()
    {
        var key = Ids.User("org");
        var directory = fixture.Client.GetGrain<IOrgDirectoryGrain>(key);
        Assert.Equal(AccessStatus.Ok, await directory.PutAsync("sales", "Sales", null, []));
        var before = await directory.GetChangesAsync(0);
        var grain = GrainId.Create("orgdirectory", key);

        fixture.StorageFaults.Fail(grain);
        await Assert.ThrowsAsync<OrleansException>(() => directory.RemoveAsync("sales"));
        Assert.Equal(1, fixture.StorageFaults.Heal(grain));
        // Not removed yet: the change that failed is not shown.
        Assert.Equal(["sales"], (await directory.GetChangesAsync(0)).Changed.Select(d => d.DepartmentId));
        Assert.Equal(AccessStatus.Ok, await directory.RemoveAsync("sales"));

        await fixture.Cluster.DeactivateAsync(directory);
        var after = await directory.GetChangesAsync(before.Version);
        Assert.Equal([("sales", true)], after.Changed.Select(d => (d.DepartmentId, d.Removed)));
        Assert.True(after.Version > before.Version);
    }

    [Fact]
    public async Task Removed_departments_are_kept_up_to_a_bound_and_a_client_from_before_them_gets_the_whole_directory()
    {
        var directory = fixture.Client.GetGrain<IOrgDirectoryGrain>(Ids.User("org"));
        Assert.Equal(AccessStatus.Ok, await directory.PutAsync("kept", "Kept", null, []));
        var early = (await directory.GetChangesAsync(0)).Version;

        // Departments made and removed over the years: one more than the removals kept.
        var firstRemoved = 0L;
        for (var i = 0; i <= OrgDirectoryGrain.MaxTombstones; i++)
        {
            Assert.Equal(AccessStatus.Ok, await directory.PutAsync($"d{i}", $"D{i}", null, []));
            Assert.Equal(AccessStatus.Ok, await directory.RemoveAsync($"d{i}"));
            firstRemoved = i == 0 ? (await directory.GetChangesAsync(0)).Version : firstRemoved;
        }

        // A client that synced before the oldest removal kept cannot be told what went: it gets the whole directory.
        var stale = await directory.GetChangesAsync(early);
        Assert.True(stale.Full);
        Assert.Equal(["kept"], stale.Changed.Select(d => d.DepartmentId));

        // One that synced after it is told the removals since, as before.
        var recent = await directory.GetChangesAsync(stale.Version - 1);
        Assert.False(recent.Full);
        Assert.Equal([($"d{OrgDirectoryGrain.MaxTombstones}", true)], recent.Changed.Select(d => (d.DepartmentId, d.Removed)));

        // The oldest removal went; a client that saw it is told the rest, exactly the removals kept.
        var sinceFirst = await directory.GetChangesAsync(firstRemoved);
        Assert.False(sinceFirst.Full);
        Assert.Equal(OrgDirectoryGrain.MaxTombstones, sinceFirst.Changed.Count(d => d.Removed));
        Assert.DoesNotContain(sinceFirst.Changed, d => d.DepartmentId == "d0");

        // A version from another history (a restored database): the whole directory too, and said so.
        Assert.True((await directory.GetChangesAsync(stale.Version + 1_000_000)).Full);
    }

    [Fact]
    public async Task A_department_name_the_database_cannot_hold_is_refused()
    {
        var directory = fixture.Client.GetGrain<IOrgDirectoryGrain>(Ids.User("org"));

        // A NUL would be served to every client. (Half an emoji never reaches a grain: the call's serializer writes UTF-8,
        // which turns it into U+FFFD on the way.)
        Assert.Equal(AccessStatus.Invalid, await directory.PutAsync("ops", "A\0B", null, []));
        Assert.Empty((await directory.GetChangesAsync(0)).Changed);
        Assert.Equal(AccessStatus.Ok, await directory.PutAsync("ops", "Ops \uD83D\uDE80", null, []));
    }
}

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

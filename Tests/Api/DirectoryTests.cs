using System.Net;
using System.Net.Http.Json;
using Orleans.Im.Organization;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Api;

[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DirectoryTests(EdgeFixture fixture)
{
    [Fact]
    public async Task The_org_directory_syncs_exactly_what_changed_and_refuses_a_broken_tree()
    {
        var user = await fixture.NewUserAsync("staff");
        var token = (await fixture.LoginAsync(user)).AccessToken;
        var engineering = Ids.User("eng");
        var platform = Ids.User("platform");
        using var http = fixture.Http();
        var baseline = await Changes(0);

        Assert.Equal(HttpStatusCode.NoContent, await Put(engineering, new DepartmentBody("Engineering", null, [user])));
        Assert.Equal(HttpStatusCode.NoContent, await Put(platform, new DepartmentBody("Platform", engineering, [user, "bob"])));
        var afterCreate = await Changes(baseline.Version);
        Assert.Equal([engineering, platform], afterCreate.Changed.Select(d => d.DepartmentId));
        Assert.Equal([user, "bob"], afterCreate.Changed[1].MemberIds);

        // A department may not go under its own descendant, nor under one that does not exist.
        Assert.Equal(HttpStatusCode.BadRequest, await Put(engineering, new DepartmentBody("Engineering", platform, [])));
        Assert.Equal(HttpStatusCode.BadRequest, await Put(Ids.User("orphan"), new DepartmentBody("Orphan", "no-such-department", [])));
        Assert.Equal(HttpStatusCode.Conflict, await Delete(engineering));

        Assert.Equal(HttpStatusCode.NoContent, await Delete(platform));
        var afterDelete = await Changes(afterCreate.Version);
        var removed = Assert.Single(afterDelete.Changed);
        Assert.Equal((platform, true), (removed.DepartmentId, removed.Removed));
        Assert.Empty((await Changes(afterDelete.Version)).Changed);
        Assert.Contains((await Changes(0)).Changed, d => d.DepartmentId == engineering);
        Assert.DoesNotContain((await Changes(0)).Changed, d => d.DepartmentId == platform);

        // A department at its member limit, each id at its longest (an HR system's e-mail-like ids): ~350 KB, over the
        // limit of other requests, is taken.
        var everyone = Enumerable.Range(0, OrgDirectoryGrain.MaxMembersPerDepartment).Select(i => $"{i:D8}".PadRight(GrainKeys.MaxIdLength, 'x')).ToArray();
        Assert.Equal(HttpStatusCode.NoContent, await Put(Ids.User("all"), new DepartmentBody("Everyone", null, everyone)));

        async Task<DirectoryChanges> Changes(long updatedAfter)
        {
            using var response = await http.CallAsync(HttpMethod.Get, $"/api/org?updatedAfter={updatedAfter}", token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<DirectoryChanges>(ApiCalls.Json))!;
        }

        async Task<HttpStatusCode> Put(string departmentId, DepartmentBody body)
        {
            using var response = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/org/departments/{departmentId}", body);
            return response.StatusCode;
        }

        async Task<HttpStatusCode> Delete(string departmentId)
        {
            using var response = await fixture.AdminCallAsync(HttpMethod.Delete, $"/api/admin/org/departments/{departmentId}");
            return response.StatusCode;
        }
    }
}

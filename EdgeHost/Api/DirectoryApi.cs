using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Organization;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// The organisation directory: <c>GET /api/org?updatedAfter=</c> for signed-in users (exactly the departments changed
/// since the version of the previous answer, removals included); <c>/api/admin/org/departments</c> to edit it.
/// </summary>
public static class DirectoryApi
{
    public static IEndpointRouteBuilder MapDirectoryApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/org", async (IClusterClient cluster, long updatedAfter = 0) =>
                TypedResults.Ok(await Directory(cluster).GetChangesAsync(updatedAfter)))
            .RequireAuthorization(ApiPolicies.User).WithTags("Directory");
        var admin = app.MapGroup("/api/admin/org/departments").RequireAuthorization(ApiPolicies.TrustedSystem).WithTags("Admin");
        admin.MapPut("/{departmentId}", async Task<Results<NoContent, ProblemHttpResult>> (string departmentId, DepartmentBody body, IClusterClient cluster) =>
                Answer(await Directory(cluster).PutAsync(departmentId, body?.Name ?? "", body?.ParentId, body?.MemberIds ?? [])))
            // A department at its member limit, with ids at their longest, is ~350 KB of JSON: over the edge's request
            // limit for every other call, which stays as it is.
            .WithMetadata(new DepartmentBodyLimit());
        admin.MapDelete("/{departmentId}", async Task<Results<NoContent, ProblemHttpResult>> (string departmentId, IClusterClient cluster) =>
            Answer(await Directory(cluster).RemoveAsync(departmentId)));
        return app;
    }

    /// <summary>The body a department may have: its members at their limit, each id at its longest, quoted, with room.</summary>
    private sealed class DepartmentBodyLimit : Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize => (long)IOrgDirectoryGrain.MaxMembersPerDepartment * (GrainKeys.MaxIdLength + 4) + 64 * 1024;
    }

    private static IOrgDirectoryGrain Directory(IClusterClient cluster) => cluster.For<IOrgDirectoryGrain>(IOrgDirectoryGrain.DefaultKey);

    private static Results<NoContent, ProblemHttpResult> Answer(AccessStatus status) =>
        status == AccessStatus.Ok ? TypedResults.NoContent() : ApiProblems.From(status);
}

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
                await Directory(cluster).PutAsync(departmentId, body?.Name ?? "", body?.ParentId, body?.MemberIds ?? []) switch
                {
                    AccessStatus.Invalid => ApiProblems.Invalid(
                        $"a department id of 1-{GrainKeys.MaxIdLength} of A-Z a-z 0-9 - _ ., a name of 1-{IOrgDirectoryGrain.MaxNameLength} characters, at most "
                        + $"{IOrgDirectoryGrain.MaxMembersPerDepartment} valid member ids, a parent that exists and is not the department or below it, and at "
                        + $"most {IOrgDirectoryGrain.MaxDepartments} departments"),
                    var status => Answer(status),
                })
            // A department at its member limit, with ids at their longest, is ~350 KB of JSON: over the edge's request
            // limit for every other call, which stays as it is.
            .WithMetadata(new DepartmentBodyLimit());
        admin.MapDelete("/{departmentId}", async Task<Results<NoContent, ProblemHttpResult>> (string departmentId, IClusterClient cluster) =>
            await Directory(cluster).RemoveAsync(departmentId) switch
            {
                AccessStatus.Conflict => ApiProblems.Problem(StatusCodes.Status409Conflict, "conflict", "the department has departments under it: remove or move them first"),
                var status => Answer(status),
            });
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

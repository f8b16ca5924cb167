using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Im.EdgeHost.Api;
using Microsoft.AspNetCore.Http;

namespace Orleans.Im.Tests.Edge;

/// <summary>What the HTTP API answers when a grain call fails: <c>503 unavailable</c> for the cluster's and storage's failures.</summary>
public sealed class ApiExceptionHandlerTests
{
    public static TheoryData<Exception> ClusterFailures() =>
    [
        new TimeoutException("Response did not arrive on time"),
        new SiloUnavailableException("silo gone"),
        new OrleansException("storage write failed"),
        new InvalidOperationException("wrapped", new TimeoutException("inner")),
    ];

    [Theory]
    [MemberData(nameof(ClusterFailures))]
    public async Task Cluster_and_storage_failures_answer_503_unavailable(Exception failure)
    {
        var (status, code, body) = await HandleAsync(failure);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("unavailable", code);
        Assert.DoesNotContain(failure.Message, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Anything_else_is_a_500_problem_that_says_nothing_of_the_exception()
    {
        var (status, code, body) = await HandleAsync(new InvalidOperationException("secret detail"));

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("internal", code);
        Assert.DoesNotContain("secret detail", body, StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string? Code, string Body)> HandleAsync(Exception failure)
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Path = "/api/me/password";
        using var body = new MemoryStream();
        context.Response.Body = body;

        Assert.True(await new ApiExceptionHandler(NullLogger<ApiExceptionHandler>.Instance).TryHandleAsync(context, failure, CancellationToken.None));

        var text = System.Text.Encoding.UTF8.GetString(body.ToArray());
        using var json = JsonDocument.Parse(text);
        return ((HttpStatusCode)context.Response.StatusCode, json.RootElement.GetProperty("code").GetString(), text);
    }
}

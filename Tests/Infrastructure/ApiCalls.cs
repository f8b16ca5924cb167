using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Orleans.Im.Accounts;
using Orleans.Im.EdgeHost.Api.Contracts;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>Calls of the edge host's HTTP API as other systems and apps make them: JSON, camelCase, enums as strings.</summary>
public static class ApiCalls
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public const string Password = "correct horse";

    public static async Task CreateAccountAsync(this EdgeFixture fixture, string userId, params AccountRole[] roles)
    {
        using var response = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/accounts",
            new CreateAccountBody(userId, userId, Password, roles.Length == 0 ? null : roles));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary>A call of a trusted system: the admin API key in <c>X-Api-Key</c>.</summary>
    public static async Task<HttpResponseMessage> AdminCallAsync(this EdgeFixture fixture, HttpMethod method, string path, object? body = null, string? apiKey = null, int? httpPort = null)
    {
        using var http = fixture.Http(httpPort);
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-Api-Key", apiKey ?? fixture.AdminApiKey);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        return await http.SendAsync(request);
    }

    public static async Task<TokenResponse> LoginAsync(this EdgeFixture fixture, string userId, string deviceId = "web", int? port = null)
    {
        using var http = fixture.Http(port);
        using var response = await http.PostAsJsonAsync("/api/auth/login", new LoginBody(userId, Password, deviceId, "test"), Json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TokenResponse>(Json))!;
    }

    /// <summary>An account with a login: its access token.</summary>
    public static async Task<string> NewUserAsync(this EdgeFixture fixture, string name)
    {
        var userId = Ids.User(name);
        await fixture.CreateAccountAsync(userId);
        return userId;
    }

    public static async Task<HttpResponseMessage> CallAsync(this HttpClient http, HttpMethod method, string path, string? token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        return await http.SendAsync(request);
    }

    /// <summary>The stable <c>code</c> of a problem-details answer.</summary>
    public static async Task<string?> ProblemCodeAsync(this HttpResponseMessage response)
    {
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        return problem.TryGetProperty("code", out var code) ? code.GetString() : null;
    }

    public static string Path(string conversationId) => Uri.EscapeDataString(conversationId);
}

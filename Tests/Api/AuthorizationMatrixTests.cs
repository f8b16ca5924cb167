using System.Buffers.Text;
using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Orleans.Im.Tests.Api;

/// <summary>Every conversation endpoint, called by every kind of caller: each gets the answer it should, nothing more.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class AuthorizationMatrixTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private enum Caller { Member, NonMember, Blocked, ExpiredToken, WrongSignature, AlgNone, NoToken }

    [Fact]
    public async Task Every_endpoint_answers_each_kind_of_caller_as_it_should()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var mallory = await fixture.NewUserAsync("mallory");
        var conversation = ApiCalls.Path(GrainKeys.P2P(alice, bob));
        var aliceToken = (await fixture.LoginAsync(alice)).AccessToken;
        var bobToken = (await fixture.LoginAsync(bob)).AccessToken;
        var malloryToken = (await fixture.LoginAsync(mallory)).AccessToken;
        using var http = fixture.Http();

        // A message to act on, then alice blocks bob: bob stays a member but may no longer send to her.
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Post, $"/api/conversations/{conversation}/messages", aliceToken, Send("first"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Put, $"/api/me/blocked/{bob}", aliceToken)).StatusCode);

        var tokens = new Dictionary<Caller, string?>
        {
            [Caller.Member] = aliceToken,
            [Caller.NonMember] = malloryToken,
            [Caller.Blocked] = bobToken,
            [Caller.ExpiredToken] = new AccessTokens(Options.Create(new AuthOptions { SigningKey = fixture.Cluster.SigningKey, AccessTokenLifetime = TimeSpan.FromMinutes(-1) }), TimeProvider.System).Issue(alice, "s"),
            [Caller.WrongSignature] = new AccessTokens(Options.Create(new AuthOptions { SigningKey = AccessTokens.NewSigningKey() }), TimeProvider.System).Issue(alice, "s"),
            [Caller.AlgNone] = AlgNoneToken(alice),
            [Caller.NoToken] = null,
        };

        // (endpoint, method, path, body, what a member gets, what the blocked user gets)
        var endpoints = new (string Name, HttpMethod Method, string Path, object? Body, HttpStatusCode Member, HttpStatusCode Blocked)[]
        {
            ("send", HttpMethod.Post, $"/api/conversations/{conversation}/messages", Send("hi"), HttpStatusCode.OK, HttpStatusCode.Forbidden),
            ("history", HttpMethod.Get, $"/api/conversations/{conversation}/messages?afterSeq=0", null, HttpStatusCode.OK, HttpStatusCode.OK),
            ("changes", HttpMethod.Get, $"/api/conversations/{conversation}/changes", null, HttpStatusCode.OK, HttpStatusCode.OK),
            ("read", HttpMethod.Post, $"/api/conversations/{conversation}/read", new ReadBody(1), HttpStatusCode.OK, HttpStatusCode.OK),
            ("settings", HttpMethod.Patch, $"/api/conversations/{conversation}/settings", new SettingsBody(Muted: true), HttpStatusCode.OK, HttpStatusCode.OK),
            ("edit", HttpMethod.Put, $"/api/conversations/{conversation}/messages/1", new EditBody(new ContentBody(ContentType.Text, "first!")), HttpStatusCode.NoContent, HttpStatusCode.Forbidden),
            ("delete for self", HttpMethod.Delete, $"/api/conversations/{conversation}/messages/1", null, HttpStatusCode.NoContent, HttpStatusCode.NoContent),
            ("recall", HttpMethod.Post, $"/api/conversations/{conversation}/messages/1/recall", null, HttpStatusCode.NoContent, HttpStatusCode.Forbidden),
            ("sync", HttpMethod.Get, "/api/sync?sinceVersion=0", null, HttpStatusCode.OK, HttpStatusCode.OK),
        };

        var failures = new List<string>();
        foreach (var endpoint in endpoints)
        {
            foreach (var (caller, token) in tokens)
            {
                var expected = caller switch
                {
                    Caller.Member => endpoint.Member,
                    Caller.Blocked => endpoint.Blocked,
                    // A stranger's own sync is fine; a conversation they are not in does not exist for them.
                    Caller.NonMember => endpoint.Name == "sync" ? HttpStatusCode.OK : HttpStatusCode.NotFound,
                    _ => HttpStatusCode.Unauthorized,
                };
                using var response = await http.CallAsync(endpoint.Method, endpoint.Path, token, endpoint.Body);
                var line = $"{endpoint.Name,-16} {caller,-15} -> {(int)response.StatusCode}";
                output.WriteLine(line);
                if (response.StatusCode != expected)
                {
                    failures.Add($"{line}, expected {(int)expected}");
                }
                else if (expected == HttpStatusCode.NotFound)
                {
                    // Not found and forbidden look the same: the same code as for a conversation that does not exist.
                    var code = await response.ProblemCodeAsync();
                    if (code != "not_found")
                    {
                        failures.Add($"{line} with code {code}, expected not_found");
                    }
                }
            }
        }

        Assert.Empty(failures);
    }

    [Fact]
    public async Task A_missing_conversation_and_a_forbidden_one_answer_identically()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var mallory = await fixture.NewUserAsync("mallory");
        var aliceToken = (await fixture.LoginAsync(alice)).AccessToken;
        var malloryToken = (await fixture.LoginAsync(mallory)).AccessToken;
        using var http = fixture.Http();
        await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(GrainKeys.P2P(alice, bob))}/messages", aliceToken, Send("private"));

        using var forbidden = await http.CallAsync(HttpMethod.Get, $"/api/conversations/{ApiCalls.Path(GrainKeys.P2P(alice, bob))}/messages", malloryToken);
        using var missing = await http.CallAsync(HttpMethod.Get, $"/api/conversations/{ApiCalls.Path(GrainKeys.NewGroup())}/messages", malloryToken);

        Assert.Equal(missing.StatusCode, forbidden.StatusCode);
        Assert.Equal(await WithoutTraceIdAsync(missing), await WithoutTraceIdAsync(forbidden));
    }

    // Each answer carries its own request's trace id; everything else must be the same.
    private static async Task<string> WithoutTraceIdAsync(HttpResponseMessage response)
    {
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        body.Remove("traceId");
        return body.ToJsonString();
    }

    private static SendBody Send(string text) => new(Ids.ClientMsgId(), new ContentBody(ContentType.Text, text));

    // A JWT-style token that names no algorithm and carries no signature: must never be accepted.
    private static string AlgNoneToken(string userId)
    {
        var header = Base64Url.EncodeToString(Encoding.UTF8.GetBytes("""{"alg":"none","typ":"JWT"}"""));
        var payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($$"""{"Sub":"{{userId}}","Sid":"s","Exp":{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}"""));
        return $"{header}.{payload}.";
    }
}

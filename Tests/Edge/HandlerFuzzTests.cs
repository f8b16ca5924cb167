using System.Net;
using Google.Protobuf;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Tests.Protocol;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// Every operation's handler on a real edge host, fed mutated bodies by a logged-in raw connection (fixed seed, bounded
/// count): each request is answered or the connection closed, the edge stays healthy, other clients are served, and its
/// memory stays bounded. Also a soak of sockets that never log in.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class HandlerFuzzTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private const int MutationsPerOperation = 40;
    private const int Seed = 11_2026;
    private const int IdleSockets = 300;
    private const long MemoryBound = 64L << 20;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Mutated_requests_to_every_operation_are_answered_or_closed_and_the_edge_stays_healthy_and_bounded()
    {
        var baselineMemory = await fixture.MetricAsync("process_working_set_bytes");
        var mutator = new Mutator(Seed);
        var answers = new Dictionary<string, int>();
        var user = Ids.User("fuzz");
        RawConnection? raw = null;
        var marker = 1_000_000u;
        try
        {
            foreach (var (op, body, _) in ProtocolSamples.Requests.Where(r => r.Op != V1.Op.Login))
            {
                var valid = body.ToByteArray();
                for (var i = 0; i < MutationsPerOperation; i++)
                {
                    if (raw is null)
                    {
                        raw = await RawConnection.OpenAsync(fixture.TcpPort);
                        await raw.LoginAsync(fixture.Tokens.Issue(user, "session-fuzz"), "fuzz");
                    }

                    var mutated = mutator.Mutate(valid);
                    var requestId = (uint)(i + 1);
                    string outcome;
                    try
                    {
                        await raw.SendRawAsync([.. RawConnection.Header((uint)mutated.Length, op, requestId), .. mutated]);

                        // Requests are served in order: once the ping after it is answered, so was this one (typing answers only errors).
                        await raw.SendAsync(V1.Op.Ping, ++marker, new V1.Ping { ClientTimeMs = 1 });
                        outcome = await ReadUntilPongAsync(raw, marker);
                    }
                    catch (IOException)
                    {
                        // The edge closed the connection before the ping went out: read what it said before closing.
                        outcome = await ReadUntilPongAsync(raw, marker);
                    }

                    answers[$"{op} {outcome}"] = answers.GetValueOrDefault($"{op} {outcome}") + 1;
                    if (outcome == "closed")
                    {
                        await raw.DisposeAsync();
                        raw = null;
                    }
                }
            }
        }
        finally
        {
            if (raw is not null)
            {
                await raw.DisposeAsync();
            }
        }

        foreach (var (answer, count) in answers.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{answer}: {count}");
        }

        // "Unavailable" is what a handler's unexpected exception becomes: bad input must get an answer, not a retry.
        Assert.DoesNotContain(answers.Keys, a => a.Contains("Unavailable", StringComparison.Ordinal));

        await AssertHealthyAndBoundedAsync(baselineMemory);
    }

    [Fact]
    public async Task Sockets_that_never_log_in_are_closed_and_leave_nothing_behind()
    {
        var baselineConnections = await fixture.MetricAsync("im_edge_tcp_connections");
        var baselineMemory = await fixture.MetricAsync("process_working_set_bytes");
        var sockets = new List<RawConnection>();
        try
        {
            for (var i = 0; i < IdleSockets; i++)
            {
                sockets.Add(await RawConnection.OpenAsync(fixture.TcpPort));
            }

            // Each is closed by the server after the login timeout, with a timeout error.
            var closed = await Task.WhenAll(sockets.Select(s => s.ReadUntilClosedAsync(EdgeFixture.LoginTimeout + Patience)));
            Assert.All(closed, frames => Assert.Equal(V1.ErrorCode.Timeout, V1.Error.Parser.ParseFrom(Assert.Single(frames).Body).Code));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                await socket.DisposeAsync();
            }
        }

        var connections = await Eventually.ReturnsAsync(() => fixture.MetricAsync("im_edge_tcp_connections"), c => c <= baselineConnections);
        output.WriteLine($"{IdleSockets} idle sockets: open connections {baselineConnections} -> {connections}");
        Assert.True(connections <= baselineConnections, $"{connections} connections left open (baseline {baselineConnections})");
        await AssertHealthyAndBoundedAsync(baselineMemory);
    }

    private static async Task<string> ReadUntilPongAsync(RawConnection raw, uint marker)
    {
        var outcome = "no answer";
        while (await raw.ReadFrameAsync(Patience) is { } frame)
        {
            if (frame.Op == V1.Op.Pong && frame.RequestId == marker)
            {
                return outcome;
            }

            if (frame.Op == V1.Op.Error)
            {
                outcome = "error " + V1.Error.Parser.ParseFrom(frame.Body).Code;
            }
            else if (frame.Op != V1.Op.Push)
            {
                outcome = frame.Op.ToString();
            }
        }

        return outcome == "no answer" ? "closed" : outcome + ", closed";
    }

    private async Task AssertHealthyAndBoundedAsync(long baselineMemory)
    {
        using var http = fixture.Http();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        var memory = await fixture.MetricAsync("process_working_set_bytes");
        output.WriteLine($"edge working set {baselineMemory / 1048576.0:F1} -> {memory / 1048576.0:F1} MiB");
        Assert.True(memory < baselineMemory + MemoryBound, $"working set grew from {baselineMemory} to {memory} bytes");

        // Another client is served as before.
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        await using var sender = await fixture.ConnectAsync(alice);
        await using var receiver = await fixture.ConnectAsync(bob);
        var ack = await sender.SendTextAsync(GrainKeys.P2P(alice, bob), "still serving");
        Assert.Equal(V1.SendStatus.Sent, ack.Status);
        var shown = await receiver.TakeAsync(1);
        Assert.Equal(ack.Seq, Assert.Single(shown).Seq);
    }
}

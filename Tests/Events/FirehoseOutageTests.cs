using Orleans.Im.Conversations;
using Orleans.Im.Events;
using Orleans.Im.Messages;
using Orleans.Im.Firehose;
using Orleans.Im.Tests.Infrastructure;
using StackExchange.Redis;

namespace Orleans.Im.Tests.Events;

/// <summary>The firehose's Redis goes away for a while: sends do not notice, and every event arrives once it is back.</summary>
[Trait("Category", "Integration")]
public sealed class FirehoseOutageTests
{
    private const int Conversations = 5;
    private const int MessagesBefore = 20;
    private const int RoundsDuringOutage = 20;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task With_redis_stopped_for_10_seconds_sends_succeed_and_every_event_arrives_after_it_returns()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var cluster = new SiloCluster("firehose-outage");
        await cluster.StartSiloAsync(settings: new Dictionary<string, string>
        {
            ["IM__Events__Redis"] = redis.ConnectionString,
            ["IM__Events__MaxRetryDelay"] = "00:00:00.500",
        });
        var client = await cluster.ConnectClientAsync();
        var conversations = Enumerable.Range(0, Conversations).Select(_ => (Sender: Ids.User("out"), Peer: Ids.User("peer"))).ToList();
        var ours = conversations.Select(c => GrainKeys.P2P(c.Sender, c.Peer)).ToHashSet();
        var options = new FirehoseConsumerOptions { Group = "outage-" + Guid.NewGuid().ToString("N"), Consumer = "reader" };
        using (var admin = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString))
        {
            await new FirehoseConsumer(admin, options).EnsureGroupAsync();
        }

        async Task SendRoundAsync(int round)
        {
            var results = await Task.WhenAll(conversations.Select(c => client.GetGrain<IConversationGrain>(GrainKeys.P2P(c.Sender, c.Peer))
                .SendAsync(new SendRequest(c.Sender, null, $"r{round}", MessageContent.FromText($"round {round}")))));
            Assert.All(results, r => Assert.Equal((SendStatus.Sent, (long)round), (r.Status, r.Seq)));
        }

        for (var round = 1; round <= MessagesBefore; round++)
        {
            await SendRoundAsync(round);
        }

        await redis.StopAsync();
        var outageEnds = DateTime.UtcNow + Outage;
        for (var round = MessagesBefore + 1; round <= MessagesBefore + RoundsDuringOutage; round++)
        {
            await SendRoundAsync(round);
            await Task.Delay(Outage / RoundsDuringOutage);
        }

        if (DateTime.UtcNow < outageEnds)
        {
            await Task.Delay(outageEnds - DateTime.UtcNow);
        }

        await redis.StartAgainAsync();
        using var reader = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await using var recorder = new FirehoseRecorder(reader, options, e => e.ConversationId is { } c && ours.Contains(c));
        recorder.Start();

        const int PerConversation = MessagesBefore + RoundsDuringOutage;
        var seen = await recorder.WaitForAsync(k => k.Count >= Conversations * PerConversation, TimeSpan.FromSeconds(60));
        Assert.Equal(Conversations * PerConversation, seen.Select(e => e.Id).Distinct().Count());
        foreach (var byConversation in seen.Where(e => e.Class == EventClass.Message).GroupBy(e => e.ConversationId))
        {
            Assert.Equal(Enumerable.Range(1, PerConversation).Select(i => (long)i), byConversation.Select(e => e.Seq!.Value).Distinct());
        }
    }
}

using System.Text;
using Orleans.Im.Events;
using Orleans.Im.Firehose;
using StackExchange.Redis;

namespace Orleans.Im.Tests.Events;

/// <summary>What the firehose client library refuses: settings that would make a consumer misbehave, bodies that are no event.</summary>
[Trait("Category", "Unit")]
public sealed class FirehoseClientInputTests
{
    public static TheoryData<string, Func<FirehoseConsumerOptions>> BadOptions => new()
    {
        // Polling Redis in a tight loop whenever the streams are quiet.
        { "MaxIdleDelay", () => new FirehoseConsumerOptions { Group = "g", Consumer = "c", MaxIdleDelay = TimeSpan.Zero } },
        { "BatchSize", () => new FirehoseConsumerOptions { Group = "g", Consumer = "c", BatchSize = 0 } },
        { "ClaimAfter", () => new FirehoseConsumerOptions { Group = "g", Consumer = "c", ClaimAfter = TimeSpan.FromSeconds(-1) } },
        { "RetryDelay", () => new FirehoseConsumerOptions { Group = "g", Consumer = "c", RetryDelay = TimeSpan.Zero } },
        { "MaxRetryDelay", () => new FirehoseConsumerOptions { Group = "g", Consumer = "c", RetryDelay = TimeSpan.FromSeconds(5), MaxRetryDelay = TimeSpan.FromSeconds(1) } },
        { "DuplicateWindowTime", () => new FirehoseConsumerOptions { Group = "g", Consumer = "c", DuplicateWindowTime = TimeSpan.FromSeconds(-1) } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task A_consumer_with_a_setting_that_would_misbehave_is_refused_when_made(string setting, Func<FirehoseConsumerOptions> options)
    {
        // Never connected: the refusal comes before any use of Redis.
        await using var redis = await ConnectionMultiplexer.ConnectAsync("127.0.0.1:1,abortConnect=false,connectTimeout=100");

        var refused = Assert.Throws<ArgumentOutOfRangeException>(() => new FirehoseConsumer(redis, options()));

        Assert.Equal(setting, refused.ParamName);
    }

    [Fact]
    public async Task A_consumer_with_the_default_settings_is_made()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync("127.0.0.1:1,abortConnect=false,connectTimeout=100");

        Assert.Equal(0, new FirehoseConsumer(redis, new FirehoseConsumerOptions { Group = "g", Consumer = "c" }).Handled);
    }

    [Theory]
    [InlineData("""{"id":"\ud800","class":"message","type":"message.sent","time":"2026-12-07T00:00:00Z"}""")] // a lone surrogate: JSON, but no text
    [InlineData("""[1,2]""")]
    [InlineData("""{"id":""")]
    public void A_webhook_body_that_is_no_event_reads_as_none(string body)
    {
        Assert.Null(FirehoseJson.Deserialize(Encoding.UTF8.GetBytes(body)));
    }

    [Fact]
    public void An_event_reads_back_from_its_webhook_body()
    {
        var e = new FirehoseEvent("m:p2p:a:b:7", EventClass.Message, "message.sent", DateTimeOffset.FromUnixTimeMilliseconds(1_765_000_000_000), "p2p:a:b", 7, "a", """{"text":"hi"}""");

        var back = FirehoseJson.Deserialize(FirehoseJson.Serialize(e));

        Assert.Equal((e.Id, e.Class, e.Type, e.Time, e.ConversationId, e.Seq, e.UserId), (back!.Id, back.Class, back.Type, back.Time, back.ConversationId, back.Seq, back.UserId));
    }
}

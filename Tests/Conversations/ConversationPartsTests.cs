using Orleans.Im.Conversations;
using Orleans.Im.Messages;

namespace Orleans.Im.Tests.Conversations;

/// <summary>The conversation grain's in-memory parts, on their own.</summary>
[Trait("Category", "Unit")]
public sealed class ConversationPartsTests
{
    [Fact]
    public void The_recent_window_keeps_the_newest_messages_and_answers_only_ranges_it_holds()
    {
        var window = new RecentMessages(capacity: 5);
        window.Reset(Enumerable.Range(1, 8).Select(Message));

        Assert.Equal(4, window.FirstSeq);
        Assert.Equal([6L, 7L, 8L], window.TryRange(5, long.MaxValue, 10, newest: false, lastSeq: 8)!.Select(m => m.Seq));
        Assert.Equal([7L, 8L], window.TryRange(0, long.MaxValue, 2, newest: true, lastSeq: 8)!.Select(m => m.Seq));
        Assert.Null(window.TryRange(0, long.MaxValue, 10, newest: false, lastSeq: 8));
        Assert.Null(window.TryRange(0, 6, 3, newest: true, lastSeq: 8));
        Assert.Equal([4L, 5L], window.TryRange(0, 6, 2, newest: true, lastSeq: 8)!.Select(m => m.Seq));
        Assert.Empty(window.TryRange(8, long.MaxValue, 10, newest: false, lastSeq: 8)!);
    }

    [Fact]
    public void A_window_holding_the_whole_log_answers_any_range()
    {
        var window = new RecentMessages(capacity: 10);
        window.Reset(Enumerable.Range(1, 3).Select(Message));

        Assert.Equal([1L, 2L, 3L], window.TryRange(0, long.MaxValue, 50, newest: false, lastSeq: 3)!.Select(m => m.Seq));
        Assert.Empty(new RecentMessages(10).TryRange(0, long.MaxValue, 50, newest: false, lastSeq: 0)!);
    }

    [Fact]
    public void Replacing_a_held_message_changes_only_that_one()
    {
        var window = new RecentMessages(capacity: 5);
        window.Reset(Enumerable.Range(1, 3).Select(Message));

        window.Replace(Message(2) with { State = MessageState.Recalled, Content = null });
        window.Replace(Message(9) with { State = MessageState.Recalled });

        Assert.Equal([MessageState.Normal, MessageState.Recalled, MessageState.Normal], window.TryRange(0, long.MaxValue, 5, false, 3)!.Select(m => m.State));
    }

    [Fact]
    public void The_client_msg_id_cache_forgets_the_oldest_beyond_its_capacity()
    {
        var cache = new ClientMsgIdCache(capacity: 2);
        cache.Remember("alice", "a", 1, DateTimeOffset.UnixEpoch);
        cache.Remember("alice", "b", 2, DateTimeOffset.UnixEpoch);
        cache.Remember("alice", "c", 3, DateTimeOffset.UnixEpoch);

        Assert.False(cache.TryGet("alice", "a", out _));
        Assert.True(cache.TryGet("alice", "c", out var c));
        Assert.Equal(3, c.Seq);
        Assert.False(cache.TryGet("bob", "c", out _));
    }

    [Fact]
    public void The_rate_limiter_allows_a_burst_then_the_rate()
    {
        var options = new ConversationOptions();
        var limiter = new SendRateLimiter(options.SendRatePerSecond, options.SendBurst);
        var now = DateTimeOffset.UnixEpoch;

        Assert.Equal(options.SendBurst, Enumerable.Range(0, options.SendBurst + 10).Count(_ => limiter.TryAcquire(now)));
        var oneTokenLater = now + TimeSpan.FromSeconds(1 / options.SendRatePerSecond);
        Assert.True(limiter.TryAcquire(oneTokenLater));
        Assert.False(limiter.TryAcquire(oneTokenLater));
    }

    [Theory]
    [InlineData(ContentType.Text)]
    [InlineData(ContentType.Image)]
    [InlineData(ContentType.Location)]
    [InlineData(ContentType.Custom)]
    public void Well_formed_content_of_each_type_is_accepted(ContentType type)
    {
        var content = type switch
        {
            ContentType.Text => MessageContent.FromText("hello"),
            ContentType.Image => new MessageContent(type, Media: new MediaInfo("https://cdn.example.invalid/x.png", "image/png", 10, 1, 1)),
            ContentType.Location => new MessageContent(type, Location: new GeoLocation(48.85, 2.35, "Paris")),
            _ => new MessageContent(type, CustomType: "card", CustomData: "{}"),
        };

        Assert.Null(MessageValidator.Validate(content));
    }

    [Fact]
    public void Size_counts_utf8_bytes_and_the_thumbnail()
    {
        var content = new MessageContent(ContentType.Image, "é", new MediaInfo("https://a.invalid/x", "image/png", 1, Thumbnail: new byte[100]));

        Assert.Equal(2 + "https://a.invalid/x".Length + "image/png".Length + 100, MessageValidator.SizeOf(content));
    }

    [Fact]
    public void Content_the_database_cannot_store_is_invalid()
    {
        Assert.Equal(SendStatus.Invalid, MessageValidator.Validate(MessageContent.FromText("a\0b"))?.Status);
        Assert.Equal(SendStatus.Invalid, MessageValidator.Validate(MessageContent.FromText("half \uD83D"))?.Status);
        Assert.Equal(SendStatus.Invalid, MessageValidator.Validate(new MessageContent(ContentType.Custom, CustomType: "card", CustomData: "{\"a\":\"\0\"}"))?.Status);
        Assert.Equal(SendStatus.Invalid, MessageValidator.Validate(new MessageContent(ContentType.Text, "hi", Location: new GeoLocation(double.NaN, 0)))?.Status);
        Assert.Null(MessageValidator.Validate(MessageContent.FromText("whole \uD83D\uDE00")));
    }

    [Fact]
    public void Clipping_never_leaves_half_a_surrogate_pair()
    {
        var text = "ab\uD83D\uDE00cd";

        Assert.Equal("ab", StorableText.Clip(text, 3));
        Assert.Equal("ab\uD83D\uDE00", StorableText.Clip(text, 4));
        Assert.Same(text, StorableText.Clip(text, 6));
        Assert.True(StorableText.IsStorable(StorableText.Clip(text, 3)));
        Assert.False(StorableText.IsStorable(text[..3]));
        Assert.False(StorableText.IsStorable("\uDE00"));
    }

    private static ChatMessage Message(int seq) =>
        new("grp:test", seq, "alice", null, $"c{seq}", MessageClass.Persistent, MessageContent.FromText($"m{seq}"), DateTimeOffset.UnixEpoch);
}

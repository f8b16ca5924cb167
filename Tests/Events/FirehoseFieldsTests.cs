using Orleans.Im.Events;

namespace Orleans.Im.Tests.Events;

[Trait("Category", "Unit")]
public sealed class FirehoseFieldsTests
{
    [Fact]
    public void An_event_survives_the_trip_through_stream_fields()
    {
        var sent = new FirehoseEvent("m:p2p:a:b:7", EventClass.Message, "message.sent",
            new DateTimeOffset(2026, 11, 23, 10, 30, 15, 123, TimeSpan.FromHours(2)), "p2p:a:b", 7, "a", """{"clientMsgId":"x"}""");

        var fields = FirehoseFields.ToFields(sent);

        Assert.Equal(["id", "class", "type", "time", "conversation", "seq", "user", "data"], fields.Select(f => f.Key));
        Assert.Equal("2026-11-23T08:30:15.123Z", fields.Single(f => f.Key == "time").Value);
        Assert.True(FirehoseFields.TryParse(fields, out var read));
        Assert.Equal(sent with { Time = sent.Time.ToUniversalTime() }, read);
    }

    [Fact]
    public void Absent_values_are_left_out_and_unknown_fields_are_ignored()
    {
        var presence = new FirehoseEvent("p:1", EventClass.Presence, "presence.changed", DateTimeOffset.UnixEpoch, null, null, "u", "{}");

        var fields = FirehoseFields.ToFields(presence).Append(new("added-later", "v")).ToList();

        Assert.DoesNotContain(fields, f => f.Key is "conversation" or "seq");
        Assert.True(FirehoseFields.TryParse(fields, out var read));
        Assert.Equal(presence, read);
    }

    [Theory]
    [InlineData("class", "no-such-class")]
    [InlineData("time", "yesterday")]
    [InlineData("id", null)]
    public void An_entry_without_a_valid_required_field_is_not_an_event(string field, string? value)
    {
        var good = FirehoseFields.ToFields(new FirehoseEvent("r:1", EventClass.Read, "conversation.read", DateTimeOffset.UnixEpoch, "c", 1, "u", "{}"));

        var bad = good.Where(f => f.Key != field).Concat(value is null ? [] : [new KeyValuePair<string, string>(field, value)]);

        Assert.False(FirehoseFields.TryParse(bad, out _));
    }

    [Fact]
    public void Every_class_has_its_own_stream_and_its_name_parses_back()
    {
        var streams = FirehoseStreams.Classes.Select(FirehoseStreams.For).ToList();

        Assert.Equal(streams.Count, streams.Distinct().Count());
        Assert.All(FirehoseStreams.Classes, c => Assert.True(FirehoseStreams.TryParse(FirehoseStreams.NameOf(c), out var back) && back == c));
        Assert.Equal("im:events:message", FirehoseStreams.For(EventClass.Message));
    }
}

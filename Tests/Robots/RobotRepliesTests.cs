using Orleans.Im.Messages;
using Orleans.Im.RobotSamples;
using Orleans.Im.Robots;

namespace Orleans.Im.Tests.Robots;

[Trait("Category", "Unit")]
public sealed class RobotRepliesTests
{
    [Fact]
    public void A_reply_id_names_the_message_it_answers_and_fits_the_client_message_id_limit()
    {
        var id = RobotReplies.ClientMsgId(long.MaxValue, int.MaxValue);
        Assert.True(id.Length <= MessageLimits.MaxClientMsgIdLength);
        Assert.True(RobotReplies.TryParseSource(id, out var seq));
        Assert.Equal(long.MaxValue, seq);
        Assert.True(RobotReplies.TryParseSource(RobotReplies.ClientMsgId(42, 0), out seq));
        Assert.Equal(42, seq);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("c1")]
    [InlineData("robot-")]
    [InlineData("robot-12")]
    [InlineData("robot--1-0")]
    [InlineData("robot-0-0")]
    [InlineData("robot-x-0")]
    [InlineData("robot-12-x")]
    public void Other_client_message_ids_are_not_robot_replies(string? clientMsgId) =>
        Assert.False(RobotReplies.TryParseSource(clientMsgId, out _));

    [Theory]
    [InlineData(SendStatus.RateLimited, true)]
    [InlineData(SendStatus.Unavailable, true)]
    [InlineData(SendStatus.Sent, false)]
    [InlineData(SendStatus.Duplicate, false)]
    [InlineData(SendStatus.NoAccess, false)]
    public void Passing_refusals_throw_so_that_the_message_is_handled_again(SendStatus status, bool throws)
    {
        var result = new SendResult(status, 0, default);
        if (throws)
        {
            Assert.Equal(status, Assert.Throws<RobotReplyNotStoredException>(() => result.ThrowIfRetryable()).Status);
        }
        else
        {
            Assert.Same(result, result.ThrowIfRetryable());
        }
    }

    [Theory]
    [InlineData("echo-bot", "echo-bot")]
    [InlineData("faq --file f.json", "faq-bot")]
    [InlineData("shop-auto-reply --shop demo-shop", "demo-shop-bot")]
    [InlineData("echo-bot --robot my-bot", "my-bot")]
    public void Each_sample_runs_as_its_robot_account(string commandLine, string robotId)
    {
        var parsed = SampleArguments.Parse(Args(commandLine), out var error);
        Assert.True(parsed is not null, error);
        Assert.Equal(robotId, parsed.DefaultRobotId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("nonsense")]
    [InlineData("faq")]
    [InlineData("shop-auto-reply")]
    [InlineData("shop-auto-reply --shop bad:id")]
    [InlineData("echo-bot --robot")]
    [InlineData("echo-bot --what x")]
    public void A_bad_command_line_is_refused(string commandLine) =>
        Assert.Null(SampleArguments.Parse(Args(commandLine), out _));

    private static string[] Args(string commandLine) => commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}

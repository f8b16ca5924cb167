namespace Orleans.Im.Tests;

[Trait("Category", "Unit")]
public sealed class GrainKeysTests
{
    [Theory]
    [InlineData("alice", true)]
    [InlineData("agent_1.shop-2", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("a:b", false)]
    [InlineData("名字", false)]
    [InlineData("with space", false)]
    public void User_ids_are_validated(string? userId, bool valid) => Assert.Equal(valid, GrainKeys.IsValidUserId(userId));

    [Fact]
    public void User_ids_over_the_limit_are_refused() =>
        Assert.False(GrainKeys.IsValidUserId(new string('a', GrainKeys.MaxUserIdLength + 1)));
}

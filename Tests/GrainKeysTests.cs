using Orleans.Im.Conversations;

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
    [InlineData("all", false)] // @all mentions everyone
    public void User_ids_are_validated(string? userId, bool valid) => Assert.Equal(valid, GrainKeys.IsValidUserId(userId));

    [Fact]
    public void User_ids_over_the_limit_are_refused() =>
        Assert.False(GrainKeys.IsValidUserId(new string('a', GrainKeys.MaxUserIdLength + 1)));

    [Fact]
    public void A_p2p_id_is_the_same_whichever_user_comes_first()
    {
        Assert.Equal("p2p:alice:bob", GrainKeys.P2P("bob", "alice"));
        Assert.Equal(GrainKeys.P2P("bob", "alice"), GrainKeys.P2P("alice", "bob"));
    }

    [Fact]
    public void Every_kind_of_id_parses_back_to_what_built_it()
    {
        Assert.Equal(new ConversationAddress(ConversationKind.P2P, "p2p:alice:bob", "alice", "bob"), Parse(GrainKeys.P2P("bob", "alice")));
        Assert.Equal(new ConversationAddress(ConversationKind.Group, "grp:g1", "g1", null), Parse(GrainKeys.Group("g1")));
        Assert.Equal(new ConversationAddress(ConversationKind.Room, "room:lobby", "lobby", null), Parse(GrainKeys.Room("lobby")));
        Assert.Equal(new ConversationAddress(ConversationKind.PublicAccount, "pub:news", "news", null), Parse(GrainKeys.PublicAccount("news")));
        Assert.Equal(new ConversationAddress(ConversationKind.CustomerService, "cs:shop1:alice", "shop1", "alice"), Parse(GrainKeys.CustomerService("shop1", "alice")));
        Assert.StartsWith("grp:", GrainKeys.NewGroup(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("p2p:bob:alice")]
    [InlineData("p2p:alice:alice")]
    [InlineData("p2p:alice")]
    [InlineData("grp:")]
    [InlineData("grp:a:b")]
    [InlineData("xyz:a")]
    [InlineData("")]
    [InlineData("cs:shop")]
    public void Ids_not_built_by_GrainKeys_do_not_parse(string conversationId) =>
        Assert.False(GrainKeys.TryParseConversation(conversationId, out _));

    [Fact]
    public void Building_an_id_from_a_bad_part_throws() =>
        Assert.Throws<ArgumentException>(() => GrainKeys.P2P("alice", "bad:id"));

    private static ConversationAddress Parse(string id)
    {
        Assert.True(GrainKeys.TryParseConversation(id, out var address));
        return address;
    }
}

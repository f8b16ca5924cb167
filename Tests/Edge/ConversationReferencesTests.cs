using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>The edge's kept conversation references, over a real cluster client.</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class ConversationReferencesTests(ClusterFixture fixture)
{
    [Fact]
    public void A_conversation_gets_the_same_reference_every_time_and_another_its_own()
    {
        var references = new ConversationReferences(fixture.Client);
        var conversation = GrainKeys.P2P(Ids.User("refs-a"), Ids.User("refs-b"));
        var other = GrainKeys.P2P(Ids.User("refs-a"), Ids.User("refs-c"));

        var first = references.For(conversation);

        Assert.Same(first, references.For(conversation));
        Assert.NotSame(first, references.For(other));
        Assert.Equal(first, fixture.Client.For<IConversationGrain>(conversation));
        Assert.Equal(2, references.Count);
    }

    [Fact]
    public void At_capacity_the_kept_references_are_dropped_and_the_next_ones_kept_again()
    {
        var references = new ConversationReferences(fixture.Client);
        for (var i = 0; i < ConversationReferences.Capacity; i++)
        {
            references.For(GrainKeys.P2P(Ids.User("cap-a"), Ids.User($"cap-{i}")));
        }

        Assert.Equal(ConversationReferences.Capacity, references.Count);
        var next = GrainKeys.P2P(Ids.User("cap-a"), Ids.User("cap-next"));
        var reference = references.For(next);

        Assert.Equal(1, references.Count);
        Assert.Same(reference, references.For(next));
    }
}

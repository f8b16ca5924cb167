using Orleans.Im.Conversations;
using Orleans.Im.Silo.Storage;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Foundation;

/// <summary>
/// The conversation index store on a real PostgreSQL: a row the database refuses (a value it cannot store) is refused
/// alone, and the rows batched with it are stored.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ConversationIndexStoreTests
{
    [Fact]
    public async Task A_row_the_database_refuses_is_refused_alone()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();
        await SchemaMigrator.ApplyAsync(database.DataSource);
        await using var store = new PostgresConversationIndexStore(database.DataSource, new GroupCommitOptions { Concurrency = 1 });

        // Saved together, so that they share batches: a NUL (text refuses 0x00) and half an emoji (no UTF-8 for it)
        // in two drafts, between rows of other users.
        var saves = await Task.WhenAll(
            store.SaveAsync("alice", [Row("c1", draft: null), Row("c2", draft: "nul \0")]),
            store.SaveAsync("bob", [Row("c1", draft: "fine"), Row("c3", draft: "half \uD83D")]),
            store.SaveAsync("carol", [Row("c1", draft: null)]));

        Assert.Equal(["c2"], saves[0]);
        Assert.Equal(["c3"], saves[1]);
        Assert.Empty(saves[2]);
        Assert.Equal(["c1"], (await store.LoadAsync("alice")).Select(r => r.Entry.ConversationId));
        Assert.Equal("fine", Assert.Single(await store.LoadAsync("bob")).Entry.Draft);
        Assert.Single(await store.LoadAsync("carol"));
    }

    private static IndexRow Row(string conversationId, string? draft) =>
        new(new ConversationEntry(conversationId, ConversationKind.P2P, 1, null, 0, 1, false, false, false, draft, false, false, 1), false);
}

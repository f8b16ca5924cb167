using Npgsql;
using Orleans.Im.Silo.Storage;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Foundation;

[Trait("Category", "Integration")]
public sealed class SchemaMigrationTests
{
    [Fact]
    public async Task Migrations_applied_twice_change_nothing()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();

        var first = await SchemaMigrator.ApplyAsync(database.DataSource);
        var afterFirst = await SnapshotAsync(database.DataSource);
        var second = await SchemaMigrator.ApplyAsync(database.DataSource);
        var afterSecond = await SnapshotAsync(database.DataSource);

        Assert.Equal(SchemaMigrator.All.Select(m => m.Version), first);
        Assert.Empty(second);
        Assert.Equal(afterFirst, afterSecond);
        Assert.Contains(afterFirst, row => row.StartsWith("orleansquery.querytext ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Concurrent_migrators_apply_each_migration_once()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();

        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SchemaMigrator.ApplyAsync(database.DataSource)));

        Assert.Equal(SchemaMigrator.All.Select(m => m.Version), runs.SelectMany(r => r).Order());
        await using var count = database.DataSource.CreateCommand("SELECT count(*) FROM schema_migrations");
        Assert.Equal((long)SchemaMigrator.All.Count, (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task A_migration_is_not_bound_by_the_command_timeout_and_each_is_committed_on_its_own()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();
        var settings = new NpgsqlConnectionStringBuilder(database.DataSource.ConnectionString) { CommandTimeout = 1 };
        await using var impatient = NpgsqlDataSource.Create(settings.ConnectionString);

        // As a CREATE INDEX on a large table: longer than the connection's command timeout, which failed it every time.
        var slow = new SchemaMigrator.Migration(1, "slow", "CREATE TABLE slow (id int); SELECT pg_sleep(2);");
        var failing = new SchemaMigrator.Migration(2, "failing", "ALTER TABLE no_such_table ADD COLUMN x int;");
        await Assert.ThrowsAsync<PostgresException>(() => SchemaMigrator.ApplyAsync(impatient, [slow, failing], SchemaMigrator.LockTimeout));

        // The first stays applied and recorded: a restart goes on from the one that failed.
        Assert.Empty(await SchemaMigrator.ApplyAsync(impatient, [slow], SchemaMigrator.LockTimeout));
        await using var recorded = database.DataSource.CreateCommand("SELECT string_agg(name, ',') FROM schema_migrations");
        Assert.Equal("slow", await recorded.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_migration_waiting_for_a_table_lock_fails_after_the_lock_timeout()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();
        await using (var create = database.DataSource.CreateCommand("CREATE TABLE busy (id int)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        // A long query holds the table: the migration must not wait behind it (holding up every writer behind itself).
        await using var holder = await database.DataSource.OpenConnectionAsync();
        await using var holding = await holder.BeginTransactionAsync();
        await using (var read = new NpgsqlCommand("SELECT count(*) FROM busy", holder, holding))
        {
            await read.ExecuteScalarAsync();
        }

        var alter = new SchemaMigrator.Migration(1, "alter", "ALTER TABLE busy ADD COLUMN x int;");
        var failure = await Assert.ThrowsAsync<PostgresException>(() => SchemaMigrator.ApplyAsync(database.DataSource, [alter], TimeSpan.FromMilliseconds(500)));

        Assert.Equal(PostgresErrorCodes.LockNotAvailable, failure.SqlState);
    }

    [Fact]
    public async Task The_storage_queries_the_Orleans_provider_requires_are_present()
    {
        var dataSource = await TestServices.GetMigratedDataSourceAsync();
        await using var command = dataSource.CreateCommand("SELECT QueryKey FROM OrleansQuery");
        var keys = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                keys.Add(reader.GetString(0));
            }
        }

        Assert.Superset(new HashSet<string> { "ReadFromStorageKey", "WriteToStorageKey", "ClearStorageKey", "DeleteStorageKey" }, keys.ToHashSet());
    }

    // Everything a migration could change: tables, columns with types and defaults, indexes, the recorded
    // migrations and the stored queries.
    private static async Task<List<string>> SnapshotAsync(NpgsqlDataSource dataSource)
    {
        const string Sql = """
            SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
            FROM information_schema.columns WHERE table_schema = 'public'
            UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
            UNION ALL SELECT 'migration ' || version || ' ' || name FROM schema_migrations
            UNION ALL SELECT 'query ' || QueryKey || ' ' || md5(QueryText) FROM OrleansQuery
            """;
        var rows = new List<string>();
        await using var command = dataSource.CreateCommand(Sql);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        rows.Sort(StringComparer.Ordinal);
        return rows;
    }
}

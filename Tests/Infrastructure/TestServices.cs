using Npgsql;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// Where the real PostgreSQL and Redis of the test run are. <c>deploy/test.sh</c> starts them on their own ports
/// (so tests can run beside <c>deploy/run.sh</c>) and passes them in <c>IM_TEST_POSTGRES</c> and <c>IM_TEST_REDIS</c>;
/// the defaults are the same ports, for running <c>dotnet test</c> by hand after <c>deploy/test.sh --services-only</c>.
/// </summary>
public static class TestServices
{
    public static string PostgresConnectionString { get; } =
        Environment.GetEnvironmentVariable("IM_TEST_POSTGRES")
        ?? "Host=127.0.0.1;Port=55433;Database=orleans_im_test;Username=postgres;Maximum Pool Size=50";

    public static string RedisConnectionString { get; } =
        Environment.GetEnvironmentVariable("IM_TEST_REDIS") ?? "127.0.0.1:56380";

    /// <summary>A cluster id no other test or run uses, so dead silos of earlier runs never appear in membership.</summary>
    public static string NewClusterId(string purpose) => $"test-{purpose}-{Guid.NewGuid():N}"[..40];

    private static readonly Lazy<Task<NpgsqlDataSource>> MigratedDataSource = new(async () =>
    {
        var dataSource = NpgsqlDataSource.Create(PostgresConnectionString);
        await Silo.Storage.SchemaMigrator.ApplyAsync(dataSource);
        return dataSource;
    });

    /// <summary>The test database, with every migration applied. Shared by the whole run.</summary>
    public static Task<NpgsqlDataSource> GetMigratedDataSourceAsync() => MigratedDataSource.Value;

    /// <summary>Creates an empty database for a test that needs one to itself; dispose the result to drop it.</summary>
    public static async Task<ScratchDatabase> CreateScratchDatabaseAsync()
    {
        var name = $"scratch_{Guid.NewGuid():N}";
        await using (var admin = await OpenAdminAsync())
        await using (var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", admin))
        {
            await create.ExecuteNonQueryAsync();
        }

        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Database = name };
        return new ScratchDatabase(name, NpgsqlDataSource.Create(builder.ConnectionString));
    }

    internal static async Task<NpgsqlConnection> OpenAdminAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString) { Database = "postgres", Pooling = false };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}

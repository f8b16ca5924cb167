using Npgsql;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>A database created for one test and dropped when disposed.</summary>
public sealed class ScratchDatabase(string name, NpgsqlDataSource dataSource) : IAsyncDisposable
{
    public string Name { get; } = name;

    public NpgsqlDataSource DataSource { get; } = dataSource;

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await using var admin = await TestServices.OpenAdminAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", admin);
        await drop.ExecuteNonQueryAsync();
    }
}

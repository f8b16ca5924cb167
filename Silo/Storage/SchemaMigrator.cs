using System.Globalization;
using System.Reflection;
using Npgsql;

namespace Orleans.Im.Silo.Storage;

/// <summary>
/// Applies the versioned SQL migrations embedded in this assembly (<c>Storage/Migrations/NNNN_name.sql</c>),
/// each once, in order, recording what ran in <c>schema_migrations</c>. Safe to run from several silos at once:
/// a transaction-scoped advisory lock serialises them, and a migration already recorded is skipped.
/// </summary>
public static class SchemaMigrator
{
    // An arbitrary constant that names "Orleans.Im schema migrations" among PostgreSQL advisory locks.
    private const long AdvisoryLockKey = 0x4F524C45414E5331;

    /// <summary>One migration: its version (the file's number), name and SQL.</summary>
    public sealed record Migration(int Version, string Name, string Sql);

    /// <summary>The migrations this build knows, in version order.</summary>
    public static IReadOnlyList<Migration> All { get; } = LoadEmbedded();

    /// <summary>Applies every migration not yet recorded. Returns the versions it applied (empty when up to date).</summary>
    public static async Task<IReadOnlyList<int>> ApplyAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
        await ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, cancellationToken);

        var applied = new HashSet<int>();
        await using (var select = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, transaction))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var ran = new List<int>();
        foreach (var migration in All.Where(m => !applied.Contains(m.Version)))
        {
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
            await using var record = new NpgsqlCommand(
                "INSERT INTO schema_migrations (version, name) VALUES (@version, @name)", connection, transaction);
            record.Parameters.AddWithValue("version", migration.Version);
            record.Parameters.AddWithValue("name", migration.Name);
            await record.ExecuteNonQueryAsync(cancellationToken);
            ran.Add(migration.Version);
        }

        await transaction.CommitAsync(cancellationToken);
        return ran;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static List<Migration> LoadEmbedded()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        const string Marker = ".Storage.Migrations.";
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.Contains(Marker, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal)))
        {
            // Resource names look like "Orleans.Im.Storage.Migrations._0001_orleans_grain_storage.sql" (a leading '_'
            // is added by MSBuild to names that start with a digit).
            var file = resource[(resource.IndexOf(Marker, StringComparison.Ordinal) + Marker.Length)..^".sql".Length].TrimStart('_');
            var separator = file.IndexOf('_', StringComparison.Ordinal);
            if (separator <= 0 || !int.TryParse(file.AsSpan(0, separator), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"Migration resource '{resource}' is not named NNNN_name.sql.");
            }

            migrations.Add(new Migration(version, file[(separator + 1)..], ReadResource(assembly, resource)));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
            {
                throw new InvalidOperationException($"Two migrations share version {migrations[i].Version}.");
            }
        }

        return migrations;
    }

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Migration resource '{name}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

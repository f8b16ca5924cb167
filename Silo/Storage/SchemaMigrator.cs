using System.Globalization;
using System.Reflection;
using Npgsql;

namespace Orleans.Im.Silo.Storage;

/// <summary>
/// Applies the versioned SQL migrations embedded in this assembly (<c>Storage/Migrations/NNNN_name.sql</c>),
/// each once, in order, recording what ran in <c>schema_migrations</c>. Each migration runs in a transaction of its own
/// that records it too, so one that fails keeps those before it. Safe to run from several silos at once: a
/// transaction-scoped advisory lock serialises them, and a migration already recorded is skipped.
/// </summary>
/// <remarks>
/// A migration may run for long on a populated database (a plain <c>CREATE INDEX</c> reads the whole table): its
/// commands, and the wait for another silo's migration, have no command timeout (Npgsql's default of 30 s failed it,
/// and every retry failed the same way). Waiting for a table lock is bounded instead (<see cref="LockTimeout"/>): a
/// migration queued behind a long query would otherwise hold up every writer of the table queued behind it.
/// </remarks>
public static class SchemaMigrator
{
    /// <summary>
    /// The longest a migration waits for a lock on a table (PostgreSQL's <c>lock_timeout</c>) before it fails with
    /// SQLSTATE 55P03; the silo retries it while it waits for the database, then stops with that error.
    /// </summary>
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);

    // An arbitrary constant that names "Orleans.Im schema migrations" among PostgreSQL advisory locks.
    private const long AdvisoryLockKey = 0x4F524C45414E5331;

    // Npgsql's CommandTimeout for "no limit".
    private const int NoCommandTimeout = 0;

    /// <summary>One migration: its version (the file's number), name and SQL.</summary>
    public sealed record Migration(int Version, string Name, string Sql);

    /// <summary>The migrations this build knows, in version order.</summary>
    public static IReadOnlyList<Migration> All { get; } = LoadEmbedded();

    /// <summary>Applies every migration not yet recorded. Returns the versions it applied (empty when up to date).</summary>
    public static Task<IReadOnlyList<int>> ApplyAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken = default) =>
        ApplyAsync(dataSource, All, LockTimeout, cancellationToken);

    /// <summary>
    /// Applies those of <paramref name="migrations"/> (in version order) not yet recorded, each waiting at most
    /// <paramref name="lockTimeout"/> for a table lock. Returns the versions it applied.
    /// </summary>
    public static async Task<IReadOnlyList<int>> ApplyAsync(NpgsqlDataSource dataSource, IReadOnlyList<Migration> migrations, TimeSpan lockTimeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(migrations);
        // Zero would be PostgreSQL's "no limit".
        ArgumentOutOfRangeException.ThrowIfLessThan(lockTimeout, TimeSpan.FromMilliseconds(1));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var transaction = await BeginLockedAsync(connection, cancellationToken))
        {
            await ExecuteAsync(connection, transaction, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer     PRIMARY KEY,
                    name       text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        var ran = new List<int>();
        var applied = await ReadAppliedAsync(connection, transaction: null, cancellationToken);
        foreach (var migration in migrations.Where(m => !applied.Contains(m.Version)))
        {
            await using var transaction = await BeginLockedAsync(connection, cancellationToken);
            // Another silo may have applied it while this one waited for the lock.
            if ((await ReadAppliedAsync(connection, transaction, cancellationToken)).Contains(migration.Version))
            {
                continue;
            }

            // After the advisory lock: lock_timeout bounds that wait too, and another silo's migration may be long.
            await ExecuteAsync(connection, transaction,
                $"SET LOCAL lock_timeout = {((long)lockTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)}", cancellationToken);
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
            await using (var record = new NpgsqlCommand(
                "INSERT INTO schema_migrations (version, name) VALUES (@version, @name)", connection, transaction))
            {
                record.Parameters.AddWithValue("version", migration.Version);
                record.Parameters.AddWithValue("name", migration.Name);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            ran.Add(migration.Version);
        }

        return ran;
    }

    /// <summary>Begins a transaction holding the migrations' advisory lock, waiting for it as long as it takes.</summary>
    private static async Task<NpgsqlTransaction> BeginLockedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
        return transaction;
    }

    private static async Task<HashSet<int>> ReadAppliedAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        var applied = new HashSet<int>();
        await using var select = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, transaction);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            applied.Add(reader.GetInt32(0));
        }

        return applied;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = NoCommandTimeout };
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

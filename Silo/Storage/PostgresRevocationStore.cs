using Npgsql;
using NpgsqlTypes;
using Orleans.Im.Accounts;

namespace Orleans.Im.Silo.Storage;

/// <summary>Ended sessions in PostgreSQL (<c>session_revocations</c>), one row per announcement.</summary>
public sealed class PostgresRevocationStore(NpgsqlDataSource dataSource) : IRevocationStore
{
    // The column is not null: "every session of the user" is stored as the empty id, which no session has.
    private const string EverySession = "";

    public Task RecordAsync(IReadOnlyCollection<SessionRevoked> revocations)
    {
        ArgumentNullException.ThrowIfNull(revocations);
        if (revocations.Count == 0)
        {
            return Task.CompletedTask;
        }

        return PostgresErrors.GuardAsync(async () =>
        {
            await using var command = dataSource.CreateCommand("""
                INSERT INTO session_revocations (user_id, session_id, revoked_at)
                SELECT * FROM unnest(@users, @sessions, @at)
                ON CONFLICT DO NOTHING
                """);
            command.Parameters.Add(new NpgsqlParameter<string[]>("users", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. revocations.Select(r => r.UserId)] });
            command.Parameters.Add(new NpgsqlParameter<string[]>("sessions", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. revocations.Select(r => r.SessionId ?? EverySession)] });
            command.Parameters.Add(new NpgsqlParameter<DateTime[]>("at", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { TypedValue = [.. revocations.Select(r => r.At.UtcDateTime)] });
            await command.ExecuteNonQueryAsync();
        }, "record ended sessions");
    }

    public Task<IReadOnlyList<SessionRevoked>> ReadSinceAsync(DateTimeOffset since, int limit) =>
        PostgresErrors.GuardAsync<IReadOnlyList<SessionRevoked>>(async () =>
        {
            // The newest `limit`, returned oldest first: the order they were announced in, per account.
            await using var command = dataSource.CreateCommand("""
                SELECT user_id, session_id, revoked_at FROM (
                    SELECT user_id, session_id, revoked_at FROM session_revocations
                    WHERE revoked_at >= @since ORDER BY revoked_at DESC LIMIT @limit
                ) AS newest ORDER BY revoked_at
                """);
            command.Parameters.AddWithValue("since", since.UtcDateTime);
            command.Parameters.AddWithValue("limit", limit);
            var revoked = new List<SessionRevoked>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var sessionId = reader.GetString(1);
                revoked.Add(new SessionRevoked(
                    reader.GetString(0),
                    sessionId.Length == 0 ? null : sessionId,
                    new DateTimeOffset(reader.GetDateTime(2), TimeSpan.Zero)));
            }

            return revoked;
        }, "read ended sessions");

    public Task<int> PruneAsync(DateTimeOffset before) =>
        PostgresErrors.GuardAsync(async () =>
        {
            await using var command = dataSource.CreateCommand("DELETE FROM session_revocations WHERE revoked_at < @before");
            command.Parameters.AddWithValue("before", before.UtcDateTime);
            return await command.ExecuteNonQueryAsync();
        }, "prune ended sessions");
}

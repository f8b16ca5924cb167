using System.Text.Json;
using Npgsql;
using Orleans.Im.Conversations;
using Orleans.Im.Users;

namespace Orleans.Im.Silo.Storage;

/// <summary>
/// Per-user conversation indexes in PostgreSQL (<c>user_conversations</c>). Saves from all users of this silo are
/// group-committed into one upsert per batch.
/// </summary>
public sealed class PostgresConversationIndexStore : IConversationIndexStore, IAsyncDisposable
{
    private const string UpsertSql = """
        INSERT INTO user_conversations AS u (user_id, conversation_id, kind, last_seq, last_message, read_seq, unread_count,
                                             muted, pinned, hidden, draft, mentioned, removed, read_diffusion, version,
                                             peer_read_seq, mention_seq, changed_at, uncounted, updated_at)
        SELECT k.*, now() FROM unnest(@user::text[], @conversation::text[], @kind::smallint[], @last_seq::bigint[],
                                      @last_message::jsonb[], @read_seq::bigint[], @unread::bigint[], @muted::boolean[],
                                      @pinned::boolean[], @hidden::boolean[], @draft::text[], @mentioned::boolean[],
                                      @removed::boolean[], @read_diffusion::boolean[], @version::bigint[],
                                      @peer_read_seq::bigint[], @mention_seq::bigint[], @changed_at::timestamptz[],
                                      @uncounted::jsonb[]) AS k
        ON CONFLICT (user_id, conversation_id) DO UPDATE SET
            kind = EXCLUDED.kind, last_seq = EXCLUDED.last_seq, last_message = EXCLUDED.last_message,
            read_seq = EXCLUDED.read_seq, unread_count = EXCLUDED.unread_count, muted = EXCLUDED.muted,
            pinned = EXCLUDED.pinned, hidden = EXCLUDED.hidden, draft = EXCLUDED.draft, mentioned = EXCLUDED.mentioned,
            removed = EXCLUDED.removed, read_diffusion = EXCLUDED.read_diffusion, version = EXCLUDED.version,
            peer_read_seq = EXCLUDED.peer_read_seq, mention_seq = EXCLUDED.mention_seq, changed_at = EXCLUDED.changed_at,
            uncounted = EXCLUDED.uncounted, updated_at = now()
        -- Two saves of one entry may commit in either order: never go back to an older version.
        WHERE u.version <= EXCLUDED.version
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly GroupCommitter<(string UserId, IndexRow Row), bool> _saves;

    public PostgresConversationIndexStore(NpgsqlDataSource dataSource, GroupCommitOptions options)
    {
        _dataSource = dataSource;
        _saves = new GroupCommitter<(string, IndexRow), bool>(SaveBatchAsync, options, GroupCommitMetrics.ConversationIndexStore);
    }

    public Task<IReadOnlyList<IndexRow>> LoadAsync(string userId) =>
        PostgresErrors.GuardAsync<IReadOnlyList<IndexRow>>(async () =>
        {
            await using var command = _dataSource.CreateCommand("""
                SELECT conversation_id, kind, last_seq, last_message::text, read_seq, unread_count, muted, pinned, hidden,
                       draft, mentioned, removed, read_diffusion, version, peer_read_seq, mention_seq, changed_at,
                       uncounted::text
                FROM user_conversations WHERE user_id = @user
                """);
            command.Parameters.AddWithValue("user", userId);
            var rows = new List<IndexRow>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var entry = new ConversationEntry(
                    reader.GetString(0),
                    (ConversationKind)reader.GetInt16(1),
                    reader.GetInt64(2),
                    MessageJson.ReadPreview(reader.IsDBNull(3) ? null : reader.GetString(3)),
                    reader.GetInt64(4),
                    reader.GetInt64(5),
                    reader.GetBoolean(6),
                    reader.GetBoolean(7),
                    reader.GetBoolean(8),
                    reader.IsDBNull(9) ? null : reader.GetString(9),
                    reader.GetBoolean(10),
                    reader.GetBoolean(11),
                    reader.GetInt64(13),
                    reader.GetInt64(14),
                    reader.GetInt64(15),
                    reader.IsDBNull(16) ? null : new DateTimeOffset(reader.GetDateTime(16), TimeSpan.Zero));
                rows.Add(new IndexRow(entry, reader.GetBoolean(12), reader.IsDBNull(17) ? null : ReadSeqs(reader.GetString(17))));
            }

            return rows;
        }, "load a conversation index");

    public async Task<IReadOnlyList<string>> SaveAsync(string userId, IReadOnlyList<IndexRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return [];
        }

        var stored = await PostgresErrors.GuardAsync(() => Task.WhenAll(rows.Select(row => _saves.EnqueueAsync((userId, row)))), "save a conversation index");
        return rows.Where((_, i) => !stored[i]).Select(row => row.Entry.ConversationId).ToList();
    }

    public Task<IReadOnlyDictionary<string, long>> LoadReadPositionsAsync(string conversationId) =>
        PostgresErrors.GuardAsync<IReadOnlyDictionary<string, long>>(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "SELECT user_id, read_seq FROM user_conversations WHERE conversation_id = @conversation AND NOT removed");
            command.Parameters.AddWithValue("conversation", conversationId);
            var positions = new Dictionary<string, long>(StringComparer.Ordinal);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                positions[reader.GetString(0)] = reader.GetInt64(1);
            }

            return positions;
        }, "load read positions");

    public ValueTask DisposeAsync() => _saves.DisposeAsync();

    /// <summary>Upserts a batch; for each item, true when stored, false when the database refused its row as invalid.</summary>
    private async Task<IReadOnlyList<bool>> SaveBatchAsync(IReadOnlyList<(string UserId, IndexRow Row)> batch, CancellationToken cancellationToken)
    {
        // One row per (user, conversation) in a statement: ON CONFLICT cannot touch a row twice. Keep the newest.
        var newest = new Dictionary<(string, string), IndexRow>();
        foreach (var (userId, row) in batch)
        {
            var key = (userId, row.Entry.ConversationId);
            if (!newest.TryGetValue(key, out var kept) || kept.Entry.Version <= row.Entry.Version)
            {
                newest[key] = row;
            }
        }

        var refused = new HashSet<(string, string)>();
        await UpsertAsync(newest.ToList(), refused, cancellationToken);
        return batch.Select(item => !refused.Contains((item.UserId, item.Row.Entry.ConversationId))).ToArray();
    }

    /// <summary>
    /// Upserts rows in one statement. When the database refuses a value of some row (a draft with a NUL, half an emoji),
    /// nothing is stored: the rows are split in halves, each upserted on its own, down to the row at fault, which goes
    /// into <paramref name="refused"/>; the others (read positions, mute and pin, mentions of other users) are stored.
    /// </summary>
    private async Task UpsertAsync(List<KeyValuePair<(string UserId, string ConversationId), IndexRow>> rows, HashSet<(string, string)> refused,
        CancellationToken cancellationToken)
    {
        try
        {
            await UpsertTogetherAsync(rows, cancellationToken);
        }
        catch (Exception ex) when (PostgresErrors.IsRefusedValue(ex))
        {
            if (rows.Count == 1)
            {
                refused.Add(rows[0].Key);
                return;
            }

            var half = rows.Count / 2;
            await UpsertAsync(rows[..half], refused, cancellationToken);
            await UpsertAsync(rows[half..], refused, cancellationToken);
        }
    }

    private async Task UpsertTogetherAsync(List<KeyValuePair<(string UserId, string ConversationId), IndexRow>> rows, CancellationToken cancellationToken)
    {
        var entries = rows.Select(r => r.Value.Entry).ToList();
        await using var command = _dataSource.CreateCommand(UpsertSql);
        command.Parameters.AddWithValue("user", rows.Select(r => r.Key.UserId).ToArray());
        command.Parameters.AddWithValue("conversation", entries.Select(e => e.ConversationId).ToArray());
        command.Parameters.AddWithValue("kind", entries.Select(e => (short)e.Kind).ToArray());
        command.Parameters.AddWithValue("last_seq", entries.Select(e => e.LastSeq).ToArray());
        command.Parameters.Add(new NpgsqlParameter("last_message", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Jsonb)
        {
            Value = entries.Select(e => e.LastMessage is null ? null : MessageJson.Write(e.LastMessage)).ToArray(),
        });
        command.Parameters.AddWithValue("read_seq", entries.Select(e => e.ReadSeq).ToArray());
        command.Parameters.AddWithValue("unread", entries.Select(e => e.UnreadCount).ToArray());
        command.Parameters.AddWithValue("muted", entries.Select(e => e.Muted).ToArray());
        command.Parameters.AddWithValue("pinned", entries.Select(e => e.Pinned).ToArray());
        command.Parameters.AddWithValue("hidden", entries.Select(e => e.Hidden).ToArray());
        command.Parameters.AddWithValue("draft", entries.Select(e => e.Draft).ToArray());
        command.Parameters.AddWithValue("mentioned", entries.Select(e => e.Mentioned).ToArray());
        command.Parameters.AddWithValue("removed", entries.Select(e => e.Removed).ToArray());
        command.Parameters.AddWithValue("read_diffusion", rows.Select(r => r.Value.ReadDiffusion).ToArray());
        command.Parameters.AddWithValue("version", entries.Select(e => e.Version).ToArray());
        command.Parameters.AddWithValue("peer_read_seq", entries.Select(e => e.PeerReadSeq).ToArray());
        command.Parameters.AddWithValue("mention_seq", entries.Select(e => e.MentionSeq).ToArray());
        command.Parameters.Add(new NpgsqlParameter("changed_at", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.TimestampTz)
        {
            Value = entries.Select(e => e.ChangedAt?.UtcDateTime).ToArray(),
        });
        command.Parameters.Add(new NpgsqlParameter("uncounted", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Jsonb)
        {
            Value = rows.Select(r => r.Value.Uncounted is { Count: > 0 } seqs ? JsonSerializer.Serialize(seqs) : null).ToArray(),
        });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Seqs stored as a JSON array. Anything else (written by hand, say) is read as none: the unread count is then only
    /// too high until the user reads on, where a load that failed would keep the user from their conversations.
    /// </summary>
    internal static IReadOnlyList<long>? ReadSeqs(string json)
    {
        try
        {
            // Ascending and distinct, as the grain keeps them (a value written by hand may be neither).
            return JsonSerializer.Deserialize<long[]>(json) is { Length: > 0 } seqs ? [.. seqs.Distinct().Order()] : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

using Npgsql;
using NpgsqlTypes;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;

namespace Orleans.Im.Silo.Storage;

/// <summary>
/// The message log in PostgreSQL. Appends from all conversations of this silo are group-committed: one multi-row
/// insert per batch (arrays unnested server-side), each caller awaiting its batch's commit. A caller's item is a run of
/// one conversation's consecutive seqs, stored whole or not at all.
/// </summary>
public sealed class PostgresMessageLog : IMessageLog, IAsyncDisposable
{
    /// <summary>
    /// How far back from a conversation's head an index rebuild looks for the user's own messages (<see cref="ReadPositionsAsync"/>).
    /// Only a crash between a send and the sender's index flush leaves one unrecorded, and that is among the newest.
    /// </summary>
    public const int OwnMessageSearchLimit = 1000;

    // The common case: no row of the batch is stored yet. A plain insert checks each unique index once, while it inserts;
    // ON CONFLICT first probes every unique index of every row (a second B-tree descent each), which was the largest
    // share of PostgreSQL's CPU under load. A batch that does conflict fails as a whole and takes the path below.
    private const string InsertSql = """
        INSERT INTO messages (conversation_id, seq, sender_id, sender_device_id, client_msg_id, class, content_type,
                              content, collapse_key, server_time, acting_sender_id, sender_name, mentions)
        SELECT * FROM unnest(@conversation::text[], @seq::bigint[], @sender::text[], @device::text[], @client_msg_id::text[],
                             @class::smallint[], @content_type::smallint[], @content::jsonb[], @collapse_key::text[],
                             @server_time::timestamptz[], @acting_sender::text[], @sender_name::text[], @mentions::jsonb[])
        """;

    // A batch with a retry of a stored message or a taken seq: store the rest, and say which rows were stored.
    private const string InsertSkippingConflictsSql = InsertSql + """

        ON CONFLICT DO NOTHING
        RETURNING conversation_id, seq, sender_id, client_msg_id
        """;

    // For items the insert skipped: was it a retry of a stored message (same sender and client id) or a taken seq?
    private const string FindDuplicatesSql = """
        SELECT m.conversation_id, m.sender_id, m.client_msg_id, m.seq, m.server_time
        FROM messages m
        JOIN unnest(@conversation::text[], @sender::text[], @client_msg_id::text[]) AS k(conversation_id, sender_id, client_msg_id)
          ON m.conversation_id = k.conversation_id AND m.sender_id = k.sender_id AND m.client_msg_id = k.client_msg_id
        """;

    // A message as read (ReadMessage): its latest revision applied, and whether a later one with its key superseded it.
    private const string MessageColumnsSql = """
        SELECT m.seq, m.sender_id, m.sender_device_id, m.client_msg_id, m.class, m.content::text, m.collapse_key,
               m.server_time, r.revision, r.state, r.content::text,
               (m.collapse_key IS NOT NULL AND EXISTS (
                   SELECT 1 FROM messages n
                   WHERE n.conversation_id = m.conversation_id AND n.collapse_key = m.collapse_key AND n.sender_id = m.sender_id
                     AND n.seq > m.seq)) AS collapsed,
               m.acting_sender_id, m.sender_name, m.mentions::text, r.at

        """;

    private const string LatestRevisionSql = """
        LEFT JOIN LATERAL (
            SELECT revision, state, content, at FROM message_revisions v
            WHERE v.conversation_id = m.conversation_id AND v.seq = m.seq
            ORDER BY revision DESC LIMIT 1) r ON true

        """;

    private const string ReadSql = MessageColumnsSql + "FROM messages m\n" + LatestRevisionSql
        + "WHERE m.conversation_id = @conversation AND m.seq > @after AND m.seq < @before";

    // The messages revised after a time, or hidden by the reader after it, in the order of those changes
    // (message_revisions_by_time; message_hidden's key), each with the time of its latest change as its last column.
    private const string ReadChangedSql = """
        WITH changed AS (
            SELECT seq, max(at) AS changed_at FROM (
                SELECT seq, at FROM message_revisions WHERE conversation_id = @conversation AND seq > @after_seq AND at > @after
                UNION ALL
                SELECT seq, at FROM message_hidden WHERE user_id = @user AND conversation_id = @conversation AND seq > @after_seq AND at > @after) x
            GROUP BY seq ORDER BY changed_at, seq LIMIT @limit)

        """ + MessageColumnsSql + ", c.changed_at FROM changed c JOIN messages m ON m.conversation_id = @conversation AND m.seq = c.seq\n"
        + LatestRevisionSql + "ORDER BY c.changed_at, m.seq";

    // Undoes the rows of a run that was stored only in part (the rest conflicted), before the transaction commits.
    private const string DeleteRowsSql = """
        DELETE FROM messages m
        USING unnest(@conversation::text[], @seq::bigint[]) AS k(conversation_id, seq)
        WHERE m.conversation_id = k.conversation_id AND m.seq = k.seq
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly GroupCommitter<IReadOnlyList<ChatMessage>, IReadOnlyList<AppendOutcome>> _appends;
    private long _appended;

    /// <summary>Messages this silo stored since it started.</summary>
    public long AppendedCount => Interlocked.Read(ref _appended);

    public PostgresMessageLog(NpgsqlDataSource dataSource, GroupCommitOptions options)
    {
        _dataSource = dataSource;
        _appends = new GroupCommitter<IReadOnlyList<ChatMessage>, IReadOnlyList<AppendOutcome>>((runs, cancellationToken) => AppendRunsAsync(runs, cancellationToken), options, GroupCommitMetrics.MessagesStore,
            run => run.Count);
    }

    /// <summary>Appends one message (a run of one): what the group-commit benchmark measures.</summary>
    public async Task<AppendOutcome> AppendAsync(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return (await AppendRunAsync([message]))[0];
    }

    public Task<IReadOnlyList<AppendOutcome>> AppendRunAsync(IReadOnlyList<ChatMessage> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentOutOfRangeException.ThrowIfZero(run.Count);
        return PostgresErrors.GuardAsync(() => _appends.EnqueueAsync(run), "append messages");
    }

    /// <summary>
    /// Commits a batch of messages in one statement, each message a run of its own; one outcome per message, in order.
    /// Public for the benchmark, which measures batch sizes directly.
    /// </summary>
    public async Task<IReadOnlyList<AppendOutcome>> AppendBatchAsync(IReadOnlyList<ChatMessage> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var outcomes = await AppendRunsAsync(batch.Select(m => (IReadOnlyList<ChatMessage>)[m]).ToList(), cancellationToken);
        return outcomes.Select(o => o[0]).ToList();
    }

    /// <summary>
    /// Commits runs together (<see cref="AppendRunsTogetherAsync"/>). When the database refuses a value of some row,
    /// nothing of the batch is stored: the batch is split in halves, each committed on its own, down to the run at
    /// fault, so that one bad message (from any conversation of this silo) fails only its own send, not up to a whole
    /// batch of others', and no retry is asked for what would fail again. One list of outcomes per run, in order.
    /// </summary>
    private async Task<IReadOnlyList<IReadOnlyList<AppendOutcome>>> AppendRunsAsync(IReadOnlyList<IReadOnlyList<ChatMessage>> runs, CancellationToken cancellationToken)
    {
        try
        {
            return await AppendRunsTogetherAsync(runs, cancellationToken);
        }
        catch (Exception ex) when (PostgresErrors.IsRefusedValue(ex))
        {
            if (runs.Count == 1)
            {
                return [await RefuseRunAsync(runs[0], cancellationToken)];
            }

            var half = runs.Count / 2;
            var first = await AppendRunsAsync(runs.Take(half).ToList(), cancellationToken);
            var second = await AppendRunsAsync(runs.Skip(half).ToList(), cancellationToken);
            return [.. first, .. second];
        }
    }

    /// <summary>
    /// A run the database refused: which of its messages is at fault, each tried alone in a transaction that is rolled
    /// back. Those are <see cref="AppendStatus.Rejected"/>, the others <see cref="AppendStatus.NotStored"/> (the
    /// conversation appends them again); every message when none is refused alone.
    /// </summary>
    private async Task<IReadOnlyList<AppendOutcome>> RefuseRunAsync(IReadOnlyList<ChatMessage> run, CancellationToken cancellationToken)
    {
        var rejected = new AppendOutcome[run.Count];
        for (var i = 0; i < run.Count; i++)
        {
            rejected[i] = new AppendOutcome(AppendStatus.Rejected, run[i].Seq, default);
        }

        if (run.Count == 1)
        {
            return rejected;
        }

        var outcomes = new AppendOutcome[run.Count];
        var anyAtFault = false;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        for (var i = 0; i < run.Count; i++)
        {
            var atFault = false;
            await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
            {
                try
                {
                    await using var insert = new NpgsqlCommand(InsertSql, connection, transaction);
                    BatchColumns.Of([run[i]]).AddTo(insert.Parameters);
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } || PostgresErrors.IsRefusedValue(ex))
                {
                    // A unique violation is not this message's fault: the conversation's retry sorts it out.
                    atFault = PostgresErrors.IsRefusedValue(ex);
                }

                await transaction.RollbackAsync(cancellationToken);
            }

            anyAtFault |= atFault;
            outcomes[i] = atFault ? rejected[i] : new AppendOutcome(AppendStatus.NotStored, run[i].Seq, default);
        }

        return anyAtFault ? outcomes : rejected;
    }

    /// <summary>
    /// Commits runs in one statement (the common case) or, when a row conflicts, in one transaction that keeps every run
    /// whole or not at all; one list of outcomes per run, in order.
    /// </summary>
    private async Task<IReadOnlyList<IReadOnlyList<AppendOutcome>>> AppendRunsTogetherAsync(IReadOnlyList<IReadOnlyList<ChatMessage>> runs, CancellationToken cancellationToken)
    {
        var rows = new List<ChatMessage>(runs.Count);
        foreach (var run in runs)
        {
            rows.AddRange(run);
        }

        var columns = BatchColumns.Of(rows);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var insert = new NpgsqlCommand(InsertSql, connection);
            columns.AddTo(insert.Parameters);
            await insert.ExecuteNonQueryAsync(cancellationToken);
            Interlocked.Add(ref _appended, rows.Count);
            return runs.Select(run => (IReadOnlyList<AppendOutcome>)run.Select(m => new AppendOutcome(AppendStatus.Appended, m.Seq, m.ServerTime)).ToArray()).ToList();
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Some row is already stored (a client's retry) or its seq is taken: nothing of the batch was.
        }

        return await AppendRunsSkippingConflictsAsync(connection, runs, rows, columns, cancellationToken);
    }

    /// <summary>
    /// The conflict path: stores what does not conflict, then undoes the runs stored only in part, in one transaction.
    /// A run is a conversation's next seqs: storing part of it would leave a hole in the conversation's seqs.
    /// </summary>
    private async Task<IReadOnlyList<IReadOnlyList<AppendOutcome>>> AppendRunsSkippingConflictsAsync(NpgsqlConnection connection,
        IReadOnlyList<IReadOnlyList<ChatMessage>> runs, List<ChatMessage> rows, BatchColumns columns, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Matched on the whole identity, not just the seq: of two rows for one seq in a batch only one is stored.
        var inserted = new HashSet<(string, long, string, string)>();
        await using (var insert = new NpgsqlCommand(InsertSkippingConflictsSql, connection, transaction))
        {
            columns.AddTo(insert.Parameters);
            await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                inserted.Add((reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3)));
            }
        }

        bool IsInserted(ChatMessage m) => inserted.Contains((m.ConversationId, m.Seq, m.SenderId, m.ClientMsgId));
        var undone = runs.Where(run => run.Count > 1 && run.Any(IsInserted) && !run.All(IsInserted))
            .SelectMany(run => run.Where(IsInserted))
            .ToHashSet<ChatMessage>(ReferenceEqualityComparer.Instance);
        if (undone.Count > 0)
        {
            await using var delete = new NpgsqlCommand(DeleteRowsSql, connection, transaction);
            delete.Parameters.AddWithValue("conversation", undone.Select(m => m.ConversationId).ToArray());
            delete.Parameters.AddWithValue("seq", undone.Select(m => m.Seq).ToArray());
            await delete.ExecuteNonQueryAsync(cancellationToken);
            inserted.ExceptWith(undone.Select(m => (m.ConversationId, m.Seq, m.SenderId, m.ClientMsgId)));
        }

        await transaction.CommitAsync(cancellationToken);
        var skipped = rows.Where(m => !IsInserted(m) && !undone.Contains(m)).ToList();
        var existing = skipped.Count > 0
            ? await FindStoredAsync(connection, skipped, cancellationToken)
            : new Dictionary<(string, string, string), (long Seq, DateTimeOffset Time)>();

        var outcomes = new List<IReadOnlyList<AppendOutcome>>(runs.Count);
        foreach (var run in runs)
        {
            var runOutcomes = new AppendOutcome[run.Count];
            for (var i = 0; i < run.Count; i++)
            {
                var m = run[i];
                if (IsInserted(m))
                {
                    Interlocked.Increment(ref _appended);
                    runOutcomes[i] = new AppendOutcome(AppendStatus.Appended, m.Seq, m.ServerTime);
                }
                else if (existing.TryGetValue((m.ConversationId, m.SenderId, m.ClientMsgId), out var found))
                {
                    runOutcomes[i] = new AppendOutcome(AppendStatus.Duplicate, found.Seq, found.Time);
                }
                else if (undone.Contains(m))
                {
                    runOutcomes[i] = new AppendOutcome(AppendStatus.NotStored, m.Seq, default);
                }
                else
                {
                    runOutcomes[i] = new AppendOutcome(AppendStatus.SeqTaken, m.Seq, default);
                }
            }

            outcomes.Add(runOutcomes);
        }

        return outcomes;
    }

    public Task<IReadOnlyList<ChatMessage>> ReadAsync(string conversationId, long afterSeq, long beforeSeq, int limit, bool newest) =>
        PostgresErrors.GuardAsync<IReadOnlyList<ChatMessage>>(async () =>
        {
            var sql = ReadSql + (newest ? " ORDER BY m.seq DESC" : " ORDER BY m.seq") + " LIMIT @limit";
            await using var command = _dataSource.CreateCommand(sql);
            command.Parameters.AddWithValue("conversation", conversationId);
            command.Parameters.AddWithValue("after", afterSeq);
            command.Parameters.AddWithValue("before", beforeSeq);
            command.Parameters.AddWithValue("limit", limit);
            var messages = new List<ChatMessage>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                messages.Add(ReadMessage(conversationId, reader));
            }

            if (newest)
            {
                messages.Reverse();
            }

            return messages;
        }, "read messages");

    public Task<IReadOnlyList<ChatMessage>> ReadChangedAsync(string conversationId, string userId, long afterSeq, DateTimeOffset after, int limit) =>
        PostgresErrors.GuardAsync<IReadOnlyList<ChatMessage>>(async () =>
        {
            await using var command = _dataSource.CreateCommand(ReadChangedSql);
            command.Parameters.AddWithValue("conversation", conversationId);
            command.Parameters.AddWithValue("user", userId);
            command.Parameters.AddWithValue("after_seq", afterSeq);
            command.Parameters.AddWithValue("after", after.UtcDateTime);
            command.Parameters.AddWithValue("limit", limit);
            var messages = new List<ChatMessage>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                // The latest change for this reader: a revision, or their hiding it.
                messages.Add(ReadMessage(conversationId, reader) with { RevisedAt = new DateTimeOffset(reader.GetDateTime(16), TimeSpan.Zero) });
            }

            return messages;
        }, "read changed messages");

    public Task<DateTimeOffset?> ReadLastRevisionTimeAsync(string conversationId) =>
        PostgresErrors.GuardAsync<DateTimeOffset?>(async () =>
        {
            await using var command = _dataSource.CreateCommand("SELECT max(at) FROM message_revisions WHERE conversation_id = @conversation");
            command.Parameters.AddWithValue("conversation", conversationId);
            return await command.ExecuteScalarAsync() is DateTime at ? new DateTimeOffset(at, TimeSpan.Zero) : null;
        }, "read the last revision time");

    public Task AppendRevisionAsync(string conversationId, long seq, int revision, MessageState state, MessageContent? content, string actorId, DateTimeOffset at) =>
        PostgresErrors.GuardAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand("""
                INSERT INTO message_revisions (conversation_id, seq, revision, state, content, actor_id, at)
                VALUES (@conversation, @seq, @revision, @state, @content::jsonb, @actor, @at)
                """);
            command.Parameters.AddWithValue("conversation", conversationId);
            command.Parameters.AddWithValue("seq", seq);
            command.Parameters.AddWithValue("revision", revision);
            command.Parameters.AddWithValue("state", (short)state);
            command.Parameters.AddWithValue("content", NpgsqlDbType.Text, content is null ? DBNull.Value : MessageJson.Write(content));
            command.Parameters.AddWithValue("actor", actorId);
            command.Parameters.AddWithValue("at", at.UtcDateTime);
            await command.ExecuteNonQueryAsync();
        }, "record a message revision");

    public Task HideAsync(string userId, string conversationId, long seq, DateTimeOffset at) =>
        PostgresErrors.GuardAsync(async () =>
        {
            await using var command = _dataSource.CreateCommand("""
                INSERT INTO message_hidden (user_id, conversation_id, seq, at) VALUES (@user, @conversation, @seq, @at)
                ON CONFLICT DO NOTHING
                """);
            command.Parameters.AddWithValue("user", userId);
            command.Parameters.AddWithValue("conversation", conversationId);
            command.Parameters.AddWithValue("seq", seq);
            command.Parameters.AddWithValue("at", at.UtcDateTime);
            await command.ExecuteNonQueryAsync();
        }, "hide a message");

    public Task<IReadOnlyList<string>> ReadUsersWithHiddenAsync(string conversationId) =>
        PostgresErrors.GuardAsync<IReadOnlyList<string>>(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "SELECT DISTINCT user_id FROM message_hidden WHERE conversation_id = @conversation");
            command.Parameters.AddWithValue("conversation", conversationId);
            return await FirstColumn.StringsAsync(command);
        }, "read who hid messages");

    public Task<IReadOnlyList<string>> ReadHidersAsync(string conversationId, long seq) =>
        PostgresErrors.GuardAsync<IReadOnlyList<string>>(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "SELECT user_id FROM message_hidden WHERE conversation_id = @conversation AND seq = @seq");
            command.Parameters.AddWithValue("conversation", conversationId);
            command.Parameters.AddWithValue("seq", seq);
            return await FirstColumn.StringsAsync(command);
        }, "read who hid a message");

    public Task<IReadOnlyList<long>> ReadHiddenAsync(string userId, string conversationId) =>
        PostgresErrors.GuardAsync<IReadOnlyList<long>>(async () =>
        {
            await using var command = _dataSource.CreateCommand(
                "SELECT seq FROM message_hidden WHERE user_id = @user AND conversation_id = @conversation ORDER BY seq");
            command.Parameters.AddWithValue("user", userId);
            command.Parameters.AddWithValue("conversation", conversationId);
            var seqs = new List<long>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                seqs.Add(reader.GetInt64(0));
            }

            return seqs;
        }, "read hidden messages");

    public Task<IReadOnlyDictionary<string, LogPosition>> ReadPositionsAsync(string userId, IReadOnlyDictionary<string, long> knownLastSeqs) =>
        PostgresErrors.GuardAsync<IReadOnlyDictionary<string, LogPosition>>(async () =>
        {
            // A group's notice of the user's own change is theirs but reads nothing: not an own message here (as in
            // UserGrain.OnMessageAsync); nor is a robot's reply (RobotReplyIds: only the robot's mark says it handled a question). The own-message search has no index on the sender: it walks the tail backwards, so it is bounded to the
            // newest OwnMessageSearchLimit messages. A read-diffusion entry (large groups, official accounts) lags the log
            // by everything since the member last synced, weeks of a busy group, and this runs at every activation.
            await using var command = _dataSource.CreateCommand("""
                SELECT c.id, h.head,
                       coalesce((SELECT max(seq) FROM messages WHERE conversation_id = c.id
                                 AND seq > greatest(c.known, h.head - @ownLimit)
                                 AND (sender_id = @user OR acting_sender_id = @user)
                                 AND coalesce(content->>'customType', '') NOT LIKE 'im.group.%'
                                 AND client_msg_id !~ '^robot-0*[1-9][0-9]*-[0-9]+$'), 0)
                FROM unnest(@ids::text[], @known::bigint[]) AS c(id, known)
                CROSS JOIN LATERAL (SELECT coalesce(max(seq), 0) AS head FROM messages WHERE conversation_id = c.id) AS h
                """);
            command.Parameters.AddWithValue("ownLimit", (long)OwnMessageSearchLimit);
            command.Parameters.AddWithValue("user", userId);
            command.Parameters.AddWithValue("ids", knownLastSeqs.Keys.ToArray());
            command.Parameters.AddWithValue("known", knownLastSeqs.Values.ToArray());
            var positions = new Dictionary<string, LogPosition>(StringComparer.Ordinal);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                positions[reader.GetString(0)] = new LogPosition(reader.GetInt64(1), reader.GetInt64(2));
            }

            return positions;
        }, "read log positions");

    public ValueTask DisposeAsync() => _appends.DisposeAsync();

    /// <summary>For rows the insert skipped: the stored message with the same sender and client id, if any (a retry).</summary>
    private static async Task<Dictionary<(string, string, string), (long Seq, DateTimeOffset Time)>> FindStoredAsync(NpgsqlConnection connection,
        IReadOnlyList<ChatMessage> skipped, CancellationToken cancellationToken)
    {
        await using var find = new NpgsqlCommand(FindDuplicatesSql, connection);
        find.Parameters.AddWithValue("conversation", skipped.Select(m => m.ConversationId).ToArray());
        find.Parameters.AddWithValue("sender", skipped.Select(m => m.SenderId).ToArray());
        find.Parameters.AddWithValue("client_msg_id", skipped.Select(m => m.ClientMsgId).ToArray());
        var existing = new Dictionary<(string, string, string), (long Seq, DateTimeOffset Time)>();
        await using var reader = await find.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            existing[(reader.GetString(0), reader.GetString(1), reader.GetString(2))] =
                (reader.GetInt64(3), new DateTimeOffset(reader.GetDateTime(4), TimeSpan.Zero));
        }

        return existing;
    }

    private static ChatMessage ReadMessage(string conversationId, NpgsqlDataReader reader)
    {
        MessageContent? content = MessageJson.ReadContent(reader.GetString(5));
        var state = MessageState.Normal;
        var revision = 0;
        if (!reader.IsDBNull(8))
        {
            revision = reader.GetInt32(8);
            state = (MessageState)reader.GetInt16(9);
            content = reader.IsDBNull(10) ? null : MessageJson.ReadContent(reader.GetString(10));
        }

        if (reader.GetBoolean(11))
        {
            // One revision past what it had, as the conversation tells it: a client taking changes by revision takes the
            // collapse over the notice as it was.
            state = MessageState.Collapsed;
            revision++;
        }

        return new ChatMessage(
            conversationId,
            reader.GetInt64(0),
            reader.GetString(1),
            reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.GetString(3),
            (MessageClass)reader.GetInt16(4),
            state is MessageState.Recalled or MessageState.Collapsed ? null : content,
            new DateTimeOffset(reader.GetDateTime(7), TimeSpan.Zero),
            state,
            revision,
            reader.IsDBNull(6) ? null : reader.GetString(6),
            reader.IsDBNull(12) ? null : reader.GetString(12),
            reader.IsDBNull(13) ? null : reader.GetString(13),
            reader.IsDBNull(14) ? null : MessageJson.ReadMentions(reader.GetString(14)),
            reader.IsDBNull(15) ? null : new DateTimeOffset(reader.GetDateTime(15), TimeSpan.Zero));
    }

    /// <summary>A batch as one array per column, bound to a command as the unnest parameters.</summary>
    private sealed record BatchColumns(string[] Conversation, long[] Seq, string[] Sender, string?[] Device, string[] ClientMsgId,
        short[] MessageClass, short[] ContentType, string[] Content, string?[] CollapseKey, DateTime[] ServerTime,
        string?[] ActingSender, string?[] SenderName, string?[] Mentions)
    {
        /// <summary>The batch's rows as columns.</summary>
        public static BatchColumns Of(List<ChatMessage> batch)
        {
            var count = batch.Count;
            var conversation = new string[count];
            var seq = new long[count];
            var sender = new string[count];
            var device = new string?[count];
            var clientMsgId = new string[count];
            var messageClass = new short[count];
            var contentType = new short[count];
            var content = new string[count];
            var collapseKey = new string?[count];
            var serverTime = new DateTime[count];
            var actingSender = new string?[count];
            var senderName = new string?[count];
            var mentions = new string?[count];
            for (var i = 0; i < count; i++)
            {
                var m = batch[i];
                conversation[i] = m.ConversationId;
                seq[i] = m.Seq;
                sender[i] = m.SenderId;
                device[i] = m.SenderDeviceId;
                clientMsgId[i] = m.ClientMsgId;
                messageClass[i] = (short)m.Class;
                contentType[i] = (short)(m.Content?.Type ?? 0);
                content[i] = MessageJson.Write(m.Content ?? throw new ArgumentException("a logged message needs content"));
                collapseKey[i] = m.CollapseKey;
                serverTime[i] = m.ServerTime.UtcDateTime;
                actingSender[i] = m.ActingSenderId;
                senderName[i] = m.SenderName;
                mentions[i] = m.Mentions is { Count: > 0 } mentioned ? MessageJson.Write(mentioned) : null;
            }

            return new BatchColumns(conversation, seq, sender, device, clientMsgId, messageClass, contentType, content, collapseKey,
                serverTime, actingSender, senderName, mentions);
        }

        public void AddTo(NpgsqlParameterCollection parameters)
        {
            parameters.AddWithValue("conversation", Conversation);
            parameters.AddWithValue("seq", Seq);
            parameters.AddWithValue("sender", Sender);
            parameters.AddWithValue("device", Device);
            parameters.AddWithValue("client_msg_id", ClientMsgId);
            parameters.AddWithValue("class", MessageClass);
            parameters.AddWithValue("content_type", ContentType);
            parameters.Add(new NpgsqlParameter("content", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = Content });
            parameters.AddWithValue("collapse_key", CollapseKey);
            parameters.AddWithValue("server_time", ServerTime);
            parameters.AddWithValue("acting_sender", ActingSender);
            parameters.AddWithValue("sender_name", SenderName);
            parameters.Add(new NpgsqlParameter("mentions", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = Mentions });
        }
    }
}

using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;

namespace Orleans.Im.Silo.Storage;

/// <summary>
/// Orleans' reminder table in PostgreSQL (<c>orleans_reminders</c>, migration 0004): durable reminders (the customer
/// service queue's timeouts) survive silo restarts. Our own schema, like the grain storage; keyed by service id so
/// that deployments (and test runs) sharing a database never see each other's reminders.
/// </summary>
public sealed class PostgresReminderTable(NpgsqlDataSource dataSource, IOptions<ClusterOptions> cluster) : IReminderTable
{
    private const string Columns = "grain_id, reminder_name, start_at, period_ms, version";

    private readonly string _serviceId = cluster.Value.ServiceId;

    public Task Init() => Task.CompletedTask;

    public Task<ReminderTableData> ReadRows(GrainId grainId) =>
        QueryAsync($"SELECT {Columns} FROM orleans_reminders WHERE service_id = @service AND grain_id = @grain",
            c => c.Parameters.AddWithValue("grain", grainId.ToString()));

    public Task<ReminderTableData> ReadRows(uint begin, uint end) =>
        // (begin, end], wrapping around the ring when begin >= end.
        QueryAsync(begin < end
                ? $"SELECT {Columns} FROM orleans_reminders WHERE service_id = @service AND grain_hash > @begin AND grain_hash <= @end"
                : $"SELECT {Columns} FROM orleans_reminders WHERE service_id = @service AND (grain_hash > @begin OR grain_hash <= @end)",
            c =>
            {
                c.Parameters.AddWithValue("begin", (long)begin);
                c.Parameters.AddWithValue("end", (long)end);
            });

    public async Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName)
    {
        var rows = await QueryAsync(
            $"SELECT {Columns} FROM orleans_reminders WHERE service_id = @service AND grain_id = @grain AND reminder_name = @name",
            c =>
            {
                c.Parameters.AddWithValue("grain", grainId.ToString());
                c.Parameters.AddWithValue("name", reminderName);
            });
        return rows.Reminders.FirstOrDefault();
    }

    public async Task<string?> UpsertRow(ReminderEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var command = dataSource.CreateCommand("""
            INSERT INTO orleans_reminders (service_id, grain_id, reminder_name, grain_hash, start_at, period_ms, version)
            VALUES (@service, @grain, @name, @hash, @start, @period, 1)
            ON CONFLICT (service_id, grain_id, reminder_name) DO UPDATE
            SET start_at = excluded.start_at, period_ms = excluded.period_ms, version = orleans_reminders.version + 1
            RETURNING version
            """);
        command.Parameters.AddWithValue("service", _serviceId);
        command.Parameters.AddWithValue("grain", entry.GrainId.ToString());
        command.Parameters.AddWithValue("name", entry.ReminderName);
        command.Parameters.AddWithValue("hash", (long)entry.GrainId.GetUniformHashCode());
        command.Parameters.AddWithValue("start", DateTime.SpecifyKind(entry.StartAt, DateTimeKind.Utc));
        command.Parameters.AddWithValue("period", (long)entry.Period.TotalMilliseconds);
        var version = (long)(await command.ExecuteScalarAsync())!;
        return version.ToString(CultureInfo.InvariantCulture);
    }

    public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
    {
        await using var command = dataSource.CreateCommand("""
            DELETE FROM orleans_reminders
            WHERE service_id = @service AND grain_id = @grain AND reminder_name = @name AND version = @version
            """);
        command.Parameters.AddWithValue("service", _serviceId);
        command.Parameters.AddWithValue("grain", grainId.ToString());
        command.Parameters.AddWithValue("name", reminderName);
        command.Parameters.AddWithValue("version", long.TryParse(eTag, CultureInfo.InvariantCulture, out var version) ? version : -1);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task TestOnlyClearTable()
    {
        await using var command = dataSource.CreateCommand("DELETE FROM orleans_reminders WHERE service_id = @service");
        command.Parameters.AddWithValue("service", _serviceId);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<ReminderTableData> QueryAsync(string sql, Action<NpgsqlCommand> parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("service", _serviceId);
        parameters(command);
        var entries = new List<ReminderEntry>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            entries.Add(new ReminderEntry
            {
                GrainId = GrainId.Parse(reader.GetString(0), CultureInfo.InvariantCulture),
                ReminderName = reader.GetString(1),
                StartAt = reader.GetDateTime(2),
                Period = TimeSpan.FromMilliseconds(reader.GetInt64(3)),
                ETag = reader.GetInt64(4).ToString(CultureInfo.InvariantCulture),
            });
        }

        return new ReminderTableData(entries);
    }
}

using Npgsql;
using Orleans.Im.PublicAccounts;

namespace Orleans.Im.Silo.Storage;

/// <summary>Official-account subscriptions in PostgreSQL (<c>public_account_subscriptions</c>), one row each.</summary>
public sealed class PostgresSubscriptionStore(NpgsqlDataSource dataSource) : ISubscriptionStore
{
    public Task<IReadOnlyList<string>> LoadSubscribersAsync(string accountId) =>
        PostgresErrors.GuardAsync<IReadOnlyList<string>>(async () =>
        {
            await using var command = dataSource.CreateCommand("SELECT user_id FROM public_account_subscriptions WHERE account_id = @account");
            command.Parameters.AddWithValue("account", accountId);
            return await FirstColumn.StringsAsync(command);
        }, "load subscribers");

    public Task AddAsync(string accountId, string userId, DateTimeOffset at) =>
        PostgresErrors.GuardAsync(async () =>
        {
            await using var command = dataSource.CreateCommand("""
                INSERT INTO public_account_subscriptions (account_id, user_id, subscribed_at) VALUES (@account, @user, @at)
                ON CONFLICT DO NOTHING
                """);
            command.Parameters.AddWithValue("account", accountId);
            command.Parameters.AddWithValue("user", userId);
            command.Parameters.AddWithValue("at", at.UtcDateTime);
            await command.ExecuteNonQueryAsync();
        }, "add a subscription");

    public Task RemoveAsync(string accountId, string userId) =>
        PostgresErrors.GuardAsync(async () =>
        {
            await using var command = dataSource.CreateCommand("DELETE FROM public_account_subscriptions WHERE account_id = @account AND user_id = @user");
            command.Parameters.AddWithValue("account", accountId);
            command.Parameters.AddWithValue("user", userId);
            await command.ExecuteNonQueryAsync();
        }, "remove a subscription");

    public Task<IReadOnlyList<string>> ListSubscriptionsAsync(string userId) =>
        PostgresErrors.GuardAsync<IReadOnlyList<string>>(async () =>
        {
            await using var command = dataSource.CreateCommand("SELECT account_id FROM public_account_subscriptions WHERE user_id = @user ORDER BY account_id");
            command.Parameters.AddWithValue("user", userId);
            return await FirstColumn.StringsAsync(command);
        }, "list subscriptions");
}

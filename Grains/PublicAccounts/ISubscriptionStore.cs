namespace Orleans.Im.PublicAccounts;

/// <summary>
/// Subscriptions to official accounts, one row per (account, user): subscribing never rewrites an ever-growing grain
/// state. Methods complete after the database committed and throw <see cref="Storage.StorageUnavailableException"/>
/// when it could not.
/// </summary>
public interface ISubscriptionStore
{
    /// <summary>Every subscriber of an account.</summary>
    Task<IReadOnlyList<string>> LoadSubscribersAsync(string accountId);

    /// <summary>Records a subscription; idempotent.</summary>
    Task AddAsync(string accountId, string userId, DateTimeOffset at);

    /// <summary>Deletes a subscription; idempotent.</summary>
    Task RemoveAsync(string accountId, string userId);

    /// <summary>The accounts a user subscribes to.</summary>
    Task<IReadOnlyList<string>> ListSubscriptionsAsync(string userId);
}

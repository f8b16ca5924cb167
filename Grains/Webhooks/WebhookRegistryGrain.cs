using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Orleans.Im.Events;
using Orleans.Im.Messages;

namespace Orleans.Im.Webhooks;

/// <summary>The deployment's webhook registrations (see <see cref="IWebhookRegistryGrain"/>).</summary>
public sealed class WebhookRegistryGrain(
    [PersistentState("webhooks", StorageNames.Grains)] IPersistentState<WebhookRegistryState> state,
    IOptions<WebhookRegistryOptions> options,
    ImClock clock) : Grain, IWebhookRegistryGrain
{
    private const int GeneratedSecretBytes = 32;

    public async Task<WebhookRegistrationResult> RegisterAsync(string url, EventClass[] classes, string? secret, string? description)
    {
        if (Validate(url, classes, secret, description, options.Value) is { } error)
        {
            return new WebhookRegistrationResult(AccessStatus.Invalid, null, error);
        }

        // The same registration again (a retry after a 503 whose write had been stored, or a script run twice) is answered
        // with the one there: a second would deliver every event twice, and with a generated secret nobody saw, its
        // deliveries were refused by the receiver and dead-lettered. The same address for other classes, or under
        // another secret, is another webhook.
        var wanted = classes.Distinct().Order().ToArray();
        if (state.State.Webhooks.Find(w => string.Equals(w.Url, url, StringComparison.Ordinal) && w.Classes.SequenceEqual(wanted)
                && (secret is null || string.Equals(w.Secret, secret, StringComparison.Ordinal))) is { } existing)
        {
            return new WebhookRegistrationResult(AccessStatus.Ok, existing);
        }

        if (state.State.Webhooks.Count >= WebhookLimits.MaxWebhooks)
        {
            return new WebhookRegistrationResult(AccessStatus.NotAllowed, null, $"at most {WebhookLimits.MaxWebhooks} webhooks");
        }

        var registration = new WebhookRegistration(
            Guid.NewGuid().ToString("N"),
            url,
            wanted,
            secret ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(GeneratedSecretBytes)),
            clock.UtcNow,
            description);
        state.State.Webhooks.Add(registration);
        await WriteOrUndoAsync(() => state.State.Webhooks.Remove(registration));
        return new WebhookRegistrationResult(AccessStatus.Ok, registration);
    }

    public async Task<bool> RemoveAsync(string id)
    {
        var index = state.State.Webhooks.FindIndex(w => w.Id == id);
        if (index < 0)
        {
            return false;
        }

        var removed = state.State.Webhooks[index];
        state.State.Webhooks.RemoveAt(index);
        await WriteOrUndoAsync(() => state.State.Webhooks.Insert(index, removed));
        return true;
    }

    /// <summary>
    /// Writes the state; when the write fails, <paramref name="undo"/> puts memory back as it was and the failure goes to
    /// the caller. Left as it was, silos would deliver to a webhook whose registration failed (signed with a secret
    /// nobody was given), and the next write would store it. The activation goes too: the write may have been stored
    /// with its answer lost, and then memory is behind storage and every later write refused as stale (the registry took
    /// no change until it was collected); the next call reads what storage holds.
    /// </summary>
    private async Task WriteOrUndoAsync(Action undo)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            undo();
            DeactivateOnIdle();
            throw;
        }
    }

    public Task<WebhookRegistration[]> ListAsync() => Task.FromResult(state.State.Webhooks.ToArray());

    private static string? Validate(string url, EventClass[] classes, string? secret, string? description, WebhookRegistryOptions allowed) =>
        url is null || url.Length > WebhookLimits.MaxUrlLength
            || !Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            ? $"url must be an absolute http or https URL of at most {WebhookLimits.MaxUrlLength} characters"
        // Names are checked again when a delivery connects (SiloHosting): a name may point anywhere, and change.
        : WebhookAddresses.RefusedHost(uri, allowed.AllowPrivateNetworks, allowed.AllowLocalAddresses) is { } refused
            ? refused
        : classes is not { Length: > 0 } || classes.Any(c => !Enum.IsDefined(c))
            ? "name at least one event class"
        : secret is not null && (secret.Length < WebhookLimits.MinSecretLength || secret.Length > WebhookLimits.MaxSecretLength)
            ? $"a secret has {WebhookLimits.MinSecretLength}-{WebhookLimits.MaxSecretLength} characters (or leave it out to get one)"
        : description is { Length: > WebhookLimits.MaxDescriptionLength }
            ? $"a description has at most {WebhookLimits.MaxDescriptionLength} characters"
        : null;
}

using Orleans.Im.Client;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>Reading what an SDK client delivered, with a deadline instead of a hang.</summary>
public static class ClientMessages
{
    public static async Task<List<Message>> TakeAsync(this ImClient client, int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        var taken = new List<Message>(count);
        try
        {
            while (taken.Count < count)
            {
                taken.Add(await client.Messages.ReadAsync(cts.Token));
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"got {taken.Count} of {count} messages: {string.Join(", ", taken.Select(m => $"{m.ConversationId}#{m.Seq}"))}");
        }

        return taken;
    }

    /// <summary>
    /// The next delivered message matching <paramref name="match"/>, skipping others (notices, own messages); throws
    /// with what it skipped when none comes within <paramref name="timeout"/>.
    /// </summary>
    public static async Task<Message> NextAsync(this ImClient client, Func<Message, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var skipped = new List<string>();
        try
        {
            while (true)
            {
                var message = await client.Messages.ReadAsync(cts.Token);
                if (match(message))
                {
                    return message;
                }

                skipped.Add($"{message.ConversationId}#{message.Seq} from {message.SenderId}: {message.Content?.Text}");
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no matching message; skipped: " + string.Join("; ", skipped));
        }
    }

    /// <summary>Asserts nothing more arrives within a short wait (exactly-once checks).</summary>
    public static async Task AssertNoMoreAsync(this ImClient client, TimeSpan? wait = null)
    {
        using var cts = new CancellationTokenSource(wait ?? TimeSpan.FromMilliseconds(500));
        try
        {
            var extra = await client.Messages.ReadAsync(cts.Token);
            Assert.Fail($"unexpected message {extra.ConversationId}#{extra.Seq}");
        }
        catch (OperationCanceledException)
        {
            // Nothing more: as expected.
        }
    }

    public static Content Text(string text) => new() { Type = ContentType.Text, Text = text };
}

using System.ComponentModel.DataAnnotations;
using Orleans.Im.Hosting;

namespace Orleans.Im.Silo.OfflinePush;

/// <summary>
/// Offline push (<c>IM:Push</c>): where the silo sends notifications for devices that are not connected. The gateway is
/// the operator's own service in front of APNs, FCM and vendors' push services (it holds their credentials); the silo
/// signs what it sends with <see cref="Secret"/>, as webhooks are signed.
/// </summary>
public sealed class PushGatewayOptions
{
    public const string Section = "IM:Push";

    /// <summary>The gateway's URL (POST). Empty: offline push is off, and user grains compose no notifications.</summary>
    public string? GatewayUrl { get; set; }

    /// <summary>The HMAC-SHA256 key of <c>X-Im-Signature</c>; required with a gateway.</summary>
    public string? Secret { get; set; }

    /// <summary>Send the message's text for the notification's body. Off: the gateway gets no text ("New message").</summary>
    public bool IncludePreview { get; set; } = true;

    /// <summary>Notifications per request at most.</summary>
    [Range(1, 1000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>How long a request waits for more notifications to go with the first (they gather under load).</summary>
    [TimeSpanRange("00:00:00", "00:00:01")]
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Notifications held for the gateway at most; beyond it the oldest are dropped (counted): a notification is a
    /// hint, and the device pulls the message when it connects.</summary>
    [Range(1, 10_000_000)]
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>
    /// The memory the held notifications may take at most, in bytes (estimated: a token is up to 1 KB, a call offer's
    /// signal up to 8 KiB); beyond it new ones are dropped (counted). Bounds a long gateway outage by memory, not only by
    /// count.
    /// </summary>
    [Range(1L << 20, 1L << 32)]
    public long QueueBytes { get; set; } = 64L << 20;

    /// <summary>Attempts per request before its notifications are dropped (counted).</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The pause after the first failed attempt; it doubles after each further one, up to <see cref="MaxRetryDelay"/>.</summary>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The longest pause between attempts: the one sender waits it with every notification behind the batch (a notification
    /// is worth little minutes late), and doubling without a bound would pass what a pause can be at 100 attempts.
    /// </summary>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The oldest message a notification is sent for; older ones are dropped (counted) when their turn comes. After a
    /// gateway outage the queue holds minutes of notifications, for messages read since on another device and devices
    /// connected again: a phone lit up for each of them, long after, is worse than none (the app syncs when opened).
    /// </summary>
    [TimeSpanRange("00:00:10", "1.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// As <see cref="MaxAge"/>, for a call offer: a phone that rings after the caller has given up (apps stop ringing
    /// after 30–60 s) rings for nobody.
    /// </summary>
    [TimeSpanRange("00:00:05", "00:10:00")]
    public TimeSpan CallMaxAge { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>How long one request may take.</summary>
    [TimeSpanRange("00:00:00.100", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

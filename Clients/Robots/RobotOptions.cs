using System.ComponentModel.DataAnnotations;
using Orleans.Im.Hosting;

namespace Orleans.Im.Robots;

/// <summary>
/// How a robot signs in and runs. Bound from the configuration section <c>IM:Robot</c> (environment variables
/// <c>IM__Robot__RobotId</c>, …); the cluster itself comes from <c>IM:ClusterId</c>, <c>IM:ServiceId</c> and
/// <c>IM:Redis:ConnectionString</c>, as for edge hosts.
/// </summary>
public sealed class RobotOptions : IValidatableObject
{
    /// <summary>The configuration section.</summary>
    public const string Section = "IM:Robot";

    /// <summary>The most conversations a robot may handle at once (<see cref="MaxConcurrency"/>'s upper bound).</summary>
    public const int MaxConcurrencyLimit = 256;

    /// <summary>The robot account's user id (an account with the <c>robot</c> role). Required.</summary>
    [Required(ErrorMessage = "is required: the robot account's user id")]
    public string RobotId { get; set; } = "";

    /// <summary>
    /// The account's password, when the account has one. A robot account without a password signs in with cluster
    /// access alone (a grain client is inside the trust boundary); with one, the secret must match.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>The robot's device id in its user's device list; another process with the same id replaces this one.</summary>
    public string DeviceId { get; set; } = "robot";

    /// <summary>Conversations handled at once; each conversation's messages are always handled one after another, in seq order.</summary>
    [CountRange(1, MaxConcurrencyLimit)]
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>
    /// The longest a handler may take over one message. Then its token is cancelled, its conversation's slot is freed,
    /// and the message is tried again later, as after a passing failure: a handler that hangs (a backend that never
    /// answers, a call without a timeout) would otherwise hold one of the <see cref="MaxConcurrency"/> slots for ever, and
    /// with all of them held the robot answers nobody while it looks online. A handler that ignores its token may still
    /// be running when it is tried again.
    /// </summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan HandlerTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long a message may keep meeting passing failures (a reply refused while storage fails over, a backend or a
    /// handler that times out) before it is given up on like a message whose handler keeps throwing: logged as an error and
    /// marked read, so that the conversation's later messages are answered. Measured from the first failure in a row on
    /// this process. Without a bound, one question whose handler always times out would hold its conversation for ever.
    /// </summary>
    [TimeSpanRange("00:00:01", "7.00:00:00")]
    public TimeSpan GiveUpWaitingAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How often the robot re-registers its device (so that it stays online after its user grain moved or was
    /// collected), checks that its login session is live, and syncs its conversations (push is a hint; this is the
    /// net under it). The registration and the check are made at least every 5 minutes whatever this says: the device
    /// is held under the cluster's lease (15 minutes by default), so that a robot process that dies goes offline.
    /// </summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan CatchUpInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First wait before retrying after the cluster was unreachable; doubles up to <see cref="MaxRetryDelay"/>.</summary>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between retries while the cluster is unreachable.</summary>
    [TimeSpanRange("00:00:00.010", "01:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a robot's login session lives; the robot signs in again when it ran out.</summary>
    [TimeSpanRange("00:01:00", "365.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Whether messages from other robot (and system) accounts reach the handler. Off by default: two robots answering
    /// each other would never stop.
    /// </summary>
    public bool ReplyToRobots { get; set; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The retry delay doubles up to the maximum: a first delay above it would never be waited.
        if (RetryDelay > MaxRetryDelay)
        {
            yield return new ValidationResult($"must not be above MaxRetryDelay ({MaxRetryDelay})", [nameof(RetryDelay)]);
        }
    }
}

using Orleans.Im.Push;

namespace Orleans.Im.Tests.Push;

/// <summary>
/// One call a <see cref="RecordingPushObserver"/> received: <c>PushManyAsync</c> or <c>PushAsync</c>, and its batches;
/// for <c>PushInOrderAsync</c> (also Many) its sender and number.
/// </summary>
public sealed record PushCall(bool Many, IReadOnlyList<UserEventBatch> Batches, long Sender = 0, long Number = 0);

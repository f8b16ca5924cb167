using Orleans.Im.Push;

namespace Orleans.Im.Tests.Push;

/// <summary>One call a <see cref="RecordingPushObserver"/> received: <c>PushManyAsync</c> or <c>PushAsync</c>, and its batches.</summary>
public sealed record PushCall(bool Many, IReadOnlyList<UserEventBatch> Batches);

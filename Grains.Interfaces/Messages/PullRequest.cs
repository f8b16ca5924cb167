namespace Orleans.Im.Messages;

/// <summary>
/// A range of a conversation's log. With <see cref="AfterSeq"/> only: the oldest <see cref="Limit"/> messages after it
/// (catching up). With <see cref="BeforeSeq"/>: the newest <see cref="Limit"/> messages before it (scrolling up);
/// with both, the newest within the open range. Messages always come back in ascending seq.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.PullRequest")]
public sealed record PullRequest(
    [property: Id(0)] long AfterSeq = 0,
    [property: Id(1)] long? BeforeSeq = null,
    [property: Id(2)] int Limit = 50);

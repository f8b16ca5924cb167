using Google.Protobuf;

namespace Orleans.Im.EdgeHost.Protocol;

/// <summary>
/// Keeps the frames the server writes within the frame limit it announces at login (<c>max_frame_bytes</c>): a client
/// refuses a larger frame and closes the connection, and would get the same frame again after reconnecting (the same
/// page of a pull), forever. Pure: sizes, no I/O.
/// </summary>
public static class FrameBudget
{
    /// <summary>
    /// Bytes one element adds to a repeated message field numbered below 16 (<c>PushBatch.events</c>,
    /// <c>PullResponse.messages</c>): the one-byte tag, the length prefix and the element.
    /// </summary>
    public static int RepeatedElementSize(IMessage element)
    {
        ArgumentNullException.ThrowIfNull(element);
        return 1 + CodedOutputStream.ComputeMessageSize(element);
    }

    /// <summary>
    /// How many of <paramref name="elementSizes"/> fit in <paramref name="budget"/> bytes, taken from the start (oldest
    /// first) or, with <paramref name="fromEnd"/>, from the end (newest first); always at least one when there is one, so
    /// that a page makes progress even when a single element is over the budget on its own (a frame limit configured
    /// below the largest message).
    /// </summary>
    public static int CountThatFit(ReadOnlySpan<int> elementSizes, int budget, bool fromEnd = false)
    {
        var used = 0L;
        for (var i = 0; i < elementSizes.Length; i++)
        {
            used += elementSizes[fromEnd ? elementSizes.Length - 1 - i : i];
            if (used > budget)
            {
                return Math.Max(i, 1);
            }
        }

        return elementSizes.Length;
    }
}

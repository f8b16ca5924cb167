namespace Orleans.Im.Push;

/// <summary>
/// The grain side of the push path (DESIGN section 6): how a user grain hands events to the edges that hold the
/// user's devices. One seam, so the mechanism (an Orleans stream today) can be measured and swapped.
/// </summary>
public interface IUserEventPublisher
{
    Task PublishAsync(UserEventBatch batch);
}

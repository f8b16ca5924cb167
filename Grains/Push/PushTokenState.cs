namespace Orleans.Im.Push;

/// <summary>Who holds a push token, in grain state (see <see cref="IPushTokenGrain"/>).</summary>
[GenerateSerializer, Alias("im.PushTokenState")]
public sealed class PushTokenState
{
    /// <summary>The device that registered it last, until it forgets it.</summary>
    [Id(0)]
    public PushTokenHolder? Holder { get; set; }
}

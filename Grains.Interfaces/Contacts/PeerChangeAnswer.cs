using Orleans.Im.Messages;

namespace Orleans.Im.Contacts;

/// <summary>
/// The answer to a change told to the other side (<see cref="IContactsGrain.OnPeerChangeAsync"/>): whether it was taken,
/// and where that side ended, in its own terms. The caller ends in the mirror of it, whatever it asked for: the other side
/// may have settled the change against one of its own, or against a change of the caller's that reached it but not the
/// caller's storage.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.PeerChangeAnswer")]
public sealed record PeerChangeAnswer(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] ContactState Settled);

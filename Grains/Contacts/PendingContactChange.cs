namespace Orleans.Im.Contacts;

/// <summary>
/// A change of this user's own (request, accept, remove) waiting for the other side's answer, and what a change of the
/// other side's that met it decided (see <see cref="ContactsGrain"/>: both sides settle on the same state).
/// </summary>
internal sealed class PendingContactChange(string userId, ContactState next)
{
    /// <summary>The other user.</summary>
    public string UserId { get; } = userId;

    /// <summary>What this user is changing to.</summary>
    public ContactState Next { get; } = next;

    /// <summary>The state both sides end in, when a change of the other side's arrived while this one was on its way.</summary>
    public ContactState? Settled { get; set; }

    /// <summary>The other side's change that arrived meanwhile (in this side's terms), with its message.</summary>
    public (ContactState State, string? Message)? Theirs { get; set; }

    /// <summary>
    /// The other side refused it: they stay where they were, and a change of theirs still arriving is the later one, not
    /// one that met this.
    /// </summary>
    public bool Refused { get; set; }

    /// <summary>This side refused a change of the other's that met this one (and answered this one as made).</summary>
    public bool RefusedTheirs { get; set; }
}

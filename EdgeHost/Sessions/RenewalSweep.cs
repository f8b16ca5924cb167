namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>What one renewal of the sessions open on an edge host did (<see cref="SessionHub.RenewAsync"/>).</summary>
/// <param name="Renewed">Sessions whose lease now runs from now.</param>
/// <param name="Registered">Sessions their user grain had forgotten, registered again (their devices sync).</param>
/// <param name="Superseded">Sessions whose device is registered on a newer connection, left alone.</param>
/// <param name="Failed">Sessions whose grain could not be reached; tried again at the next renewal.</param>
public sealed record RenewalSweep(int Renewed, int Registered, int Superseded, int Failed);

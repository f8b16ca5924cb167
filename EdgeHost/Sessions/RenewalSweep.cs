using static Orleans.Im.EdgeHost.Sessions.SessionHub;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>What one renewal of the sessions open on an edge host did (<see cref="SessionHub.RenewAsync"/>).</summary>
/// <param name="Renewed">Sessions whose lease now runs from now.</param>
/// <param name="Restored">Sessions their user grain had forgotten and registered again (their devices sync).</param>
/// <param name="Superseded">Sessions whose device a newer connection replaced, left alone.</param>
/// <param name="Failed">Sessions whose grain could not be reached, to try again.</param>
public sealed record RenewalSweep(int Renewed, int Restored, int Superseded, IReadOnlyList<OpenSession> Failed);

namespace Orleans.Im.Bench.Load;

/// <summary>What one process used over a measured window: CPU as cores busy on average, and memory at the end.</summary>
/// <param name="Name">"generator" or the host's URL.</param>
/// <param name="CpuCores">CPU seconds used ÷ wall seconds (1.0 = one core busy all the time).</param>
/// <param name="ResidentBytesStart">Resident memory at the start of the window.</param>
/// <param name="ResidentBytesEnd">Resident memory at the end of the window.</param>
/// <param name="Connections">Open connections at the end (edge hosts).</param>
public sealed record ResourceUse(string Name, double CpuCores, long ResidentBytesStart, long ResidentBytesEnd, double Connections);

namespace Orleans.Im.Bench.Heap;

/// <summary>The <c>heap</c> options.</summary>
/// <param name="Pid">The process to dump.</param>
/// <param name="Top">How many types the table lists, largest by bytes first.</param>
/// <param name="Per">A divisor such as the number of connections the process holds, for "bytes per connection"; 0 when not given.</param>
/// <param name="KeepDumpPath">Where the dump is written and kept; null writes it to a temporary file and deletes it.</param>
/// <param name="ForceGc">Whether to induce a full blocking GC before the dump, so that dead objects are not counted.</param>
/// <param name="ResultsFile">Where the JSON line is appended.</param>
public sealed record HeapSettings(int Pid, int Top, int Per, string? KeepDumpPath, bool ForceGc, string ResultsFile);

namespace Orleans.Im.RobotSamples.Faq;

/// <summary>A FAQ file's shape, as written (checked by <see cref="FaqBook.Parse"/>).</summary>
internal sealed record FaqFile(string? DefaultAnswer, List<FaqFileEntry>? Entries);

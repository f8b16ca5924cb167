namespace Orleans.Im.RobotSamples.Faq;

/// <summary>One entry of a FAQ file, as written.</summary>
internal sealed record FaqFileEntry(List<string>? Keywords, string? Answer);

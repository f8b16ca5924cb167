namespace Orleans.Im.RobotSamples.Faq;

/// <summary>One question of a FAQ: the keywords (words or phrases) that point to it, and its answer.</summary>
public sealed record FaqEntry(string[] Keywords, string Answer);

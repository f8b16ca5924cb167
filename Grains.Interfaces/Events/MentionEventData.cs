namespace Orleans.Im.Events;

/// <summary>The body of <c>mention</c>: who was mentioned in the message at the envelope's seq (<c>All</c> for @all).</summary>
public sealed record MentionEventData(string[] Mentioned, bool All);

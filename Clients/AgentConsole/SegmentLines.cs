using Spectre.Console.Rendering;

namespace Orleans.Im.AgentConsole;

/// <summary>Lines already laid out at a width (by <see cref="ScreenLayout"/>), drawn as they are.</summary>
internal sealed class SegmentLines(IReadOnlyList<SegmentLine> lines) : IRenderable
{
    public Measurement Measure(RenderOptions options, int maxWidth)
    {
        var widest = lines.Count == 0 ? 0 : lines.Max(l => l.CellCount());
        return new Measurement(Math.Min(widest, maxWidth), Math.Min(widest, maxWidth));
    }

    public IEnumerable<Segment> Render(RenderOptions options, int maxWidth)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                yield return Segment.LineBreak;
            }

            foreach (var segment in lines[i])
            {
                yield return segment;
            }
        }
    }
}

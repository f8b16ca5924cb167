namespace Orleans.Im.Tests.Infrastructure;

/// <summary>Fresh ids, so that tests sharing a cluster and a database never see each other's data.</summary>
public static class Ids
{
    public static string User(string name) => $"{name}-{Guid.NewGuid():N}"[..Math.Min(name.Length + 13, GrainKeys.MaxIdLength)];

    public static string ClientMsgId() => Guid.NewGuid().ToString("N");
}

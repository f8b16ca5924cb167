namespace Orleans.Im.PublicAccounts;

/// <summary>Fixed limits of official accounts.</summary>
public static class PublicAccountLimits
{
    /// <summary>The longest account name, in characters.</summary>
    public const int MaxNameLength = 64;

    /// <summary>The most operators one account may have.</summary>
    public const int MaxOperators = 50;

    /// <summary>The most subscribers one page of the subscriber list holds.</summary>
    public const int MaxSubscriberPage = 1000;

    /// <summary>The most users one targeted push ("reach") may name.</summary>
    public const int MaxReachTargets = 1000;
}

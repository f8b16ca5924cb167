namespace Orleans.Im.Users;

/// <summary>
/// How many devices of each platform class may be online at once (e.g. one mobile, one desktop, several web). A device
/// beyond the limit makes the longest-connected one of its class leave.
/// </summary>
public static class LoginPolicy
{
    /// <summary>The class of a platform name: <c>mobile</c>, <c>desktop</c>, <c>web</c> or <c>other</c>.</summary>
    public static string ClassOf(string platform) => platform?.ToUpperInvariant() switch
    {
        "IOS" or "ANDROID" or "MOBILE" or "IPADOS" => "mobile",
        "WINDOWS" or "MACOS" or "MAC" or "LINUX" or "DESKTOP" => "desktop",
        "WEB" or "BROWSER" => "web",
        _ => "other",
    };

    /// <summary>The devices to kick when <paramref name="newcomer"/> joins <paramref name="online"/>, oldest first.</summary>
    public static IReadOnlyList<DeviceSession> Evictions(IEnumerable<DeviceSession> online, DeviceSession newcomer, UserOptions options)
    {
        ArgumentNullException.ThrowIfNull(newcomer);
        ArgumentNullException.ThrowIfNull(options);
        var deviceClass = ClassOf(newcomer.Platform);
        var limit = deviceClass switch
        {
            "mobile" => options.MaxMobileDevices,
            "desktop" => options.MaxDesktopDevices,
            "web" => options.MaxWebDevices,
            _ => options.MaxOtherDevices,
        };
        var sameClass = online.Where(d => d.DeviceId != newcomer.DeviceId && ClassOf(d.Platform) == deviceClass)
            .OrderBy(d => d.ConnectedAt)
            .ToList();
        var excess = sameClass.Count + 1 - Math.Max(1, limit);
        return excess <= 0 ? [] : sameClass.Take(excess).ToList();
    }
}

namespace Orleans.Im.Robots;

/// <summary>How a robot appears to the rest of the system.</summary>
public static class RobotRuntimeNames
{
    /// <summary>The platform of a robot's device (the login policy counts it among "other" devices).</summary>
    public const string Platform = "robot";

    /// <summary>The prefix of the location (edge id) a robot's device reports: robots hold no edge connection.</summary>
    public const string LocationPrefix = "robot:";
}

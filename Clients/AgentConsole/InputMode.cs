namespace Orleans.Im.AgentConsole;

/// <summary>What the input line is being typed for.</summary>
public enum InputMode
{
    /// <summary>A reply to the selected session.</summary>
    Reply,

    /// <summary>The agent to transfer the selected session to (empty: back to the queue).</summary>
    TransferTarget,

    /// <summary>The agent's password, after the sign-in was refused (a password changed since the console started); never shown.</summary>
    Password,
}

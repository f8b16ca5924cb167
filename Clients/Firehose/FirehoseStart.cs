namespace Orleans.Im.Firehose;

/// <summary>Where a consumer group that does not exist yet starts reading. An existing group always resumes where it is.</summary>
public enum FirehoseStart
{
    /// <summary>Only events appended after the group is created.</summary>
    NewEvents = 0,

    /// <summary>Everything the stream still holds (it is trimmed to a maximum length).</summary>
    Oldest = 1,
}

namespace Orleans.Im.Messages;

/// <summary>What a message carries. Media travels as a URL plus metadata and a small thumbnail, never as a blob.</summary>
[GenerateSerializer, Alias("im.ContentType")]
public enum ContentType
{
    /// <summary>Plain text.</summary>
    Text = 1,
    /// <summary>An image, with dimensions and a thumbnail.</summary>
    Image = 2,
    /// <summary>A voice clip, with its duration.</summary>
    Voice = 3,
    /// <summary>A video, with dimensions, duration and a thumbnail.</summary>
    Video = 4,
    /// <summary>A file, with its name and size.</summary>
    File = 5,
    /// <summary>A point on the map.</summary>
    Location = 6,
    /// <summary>An application-defined payload: <see cref="MessageContent.CustomType"/> names it, <see cref="MessageContent.CustomData"/> holds it.</summary>
    Custom = 7,
}

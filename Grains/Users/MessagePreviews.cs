using Orleans.Im.Messages;

namespace Orleans.Im.Users;

/// <summary>Builds the preview a conversation list shows of a message.</summary>
public static class MessagePreviews
{
    public static MessagePreview From(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var text = message.Content?.Type switch
        {
            ContentType.Location => message.Content.Location?.Name,
            ContentType.Custom => message.Content.Text ?? message.Content.CustomType,
            _ => message.Content?.Text,
        };
        if (text is not null)
        {
            // On a character boundary: half an emoji would fail the save of the user's index row.
            text = StorableText.Clip(text, MessageLimits.MaxPreviewLength);
        }

        return new MessagePreview(message.Seq, message.SenderId, message.Content?.Type, text, message.ServerTime, message.State,
            message.Content?.Type == ContentType.Custom ? message.Content.CustomType : null);
    }
}

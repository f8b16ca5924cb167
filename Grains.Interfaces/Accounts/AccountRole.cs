namespace Orleans.Im.Accounts;

/// <summary>What an account is for. An account may hold several roles.</summary>
[GenerateSerializer, Alias("im.AccountRole")]
public enum AccountRole
{
    /// <summary>A person using the chat.</summary>
    User = 0,

    /// <summary>A customer-service agent of a shop.</summary>
    Agent = 1,

    /// <summary>A shop: a virtual account users talk to; its agents answer.</summary>
    Shop = 2,

    /// <summary>A program that chats (a grain client or an HTTP caller).</summary>
    Robot = 3,

    /// <summary>Manages accounts.</summary>
    Admin = 4,

    /// <summary>Sends system notices.</summary>
    System = 5,
}

using MessagePack;
using MessagePack.Resolvers;

namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>
/// MessagePack settings of the hub (and of .NET clients): the contract records serialize by property name, enums by
/// name, untrusted input guarded. The same names as JSON, in PascalCase.
/// </summary>
public static class HubMessagePack
{
    public static MessagePackSerializerOptions Options { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(DynamicEnumAsStringResolver.Instance, ContractlessStandardResolver.Instance))
        .WithSecurity(MessagePackSecurity.UntrustedData);
}

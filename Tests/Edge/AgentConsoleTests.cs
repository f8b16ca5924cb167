using System.Net;
using Orleans.Im.Accounts;
using Orleans.Im.CustomerService;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>The agent console, the real program in a real terminal (tmux), against the real silo and edge host.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class AgentConsoleTests(EdgeFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task An_agent_signs_in_goes_online_gets_the_session_replies_and_closes_it()
    {
        var (shop, agent, user) = (Ids.User("shop"), Ids.User("agent"), Ids.User("customer"));
        await fixture.CreateAccountAsync(agent, AccountRole.Agent);
        using (var created = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [agent])))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var console = Path.Combine(RepositoryPaths.Root, "Clients", "AgentConsole", "bin", RepositoryPaths.Configuration, "net10.0", "Orleans.Im.AgentConsole.dll");
        await using var terminal = await TmuxSession.StartAsync(["dotnet", console,
            "--http", $"http://127.0.0.1:{fixture.Edge.Endpoints.HttpPort}", "--tcp", $"127.0.0.1:{fixture.TcpPort}",
            "--user", agent, "--shop", shop]);
        try
        {
            // Sign in: the password is asked for.
            await terminal.WaitForTextAsync("Password:");
            await terminal.TypeAsync(ApiCalls.Password);
            await terminal.PressAsync("Enter");
            await terminal.WaitForTextAsync("OFFLINE");

            // Online: the agent takes sessions.
            await terminal.PressAsync("C-g");
            await terminal.WaitForTextAsync("ONLINE");

            // A customer writes; the session comes to this agent and the console shows it with the message.
            await using var phone = await fixture.ConnectAsync(user);
            var conversation = GrainKeys.CustomerService(shop, user);
            await phone.SendTextAsync(conversation, "Where is my parcel?");
            await terminal.WaitForTextAsync("Where is my parcel?");
            await terminal.WaitForTextAsync(user);

            // Reply: typed and sent with Enter; the customer gets it from the shop.
            await terminal.TypeAsync("It ships today.");
            await terminal.PressAsync("Enter");
            var reply = await NextAsync(phone, m => m.Content?.Text == "It ships today.");
            Assert.Equal(shop, reply.SenderId);
            var exchange = await terminal.WaitForScreenAsync(
                s => s.Contains("Where is my parcel?", StringComparison.Ordinal) && s.Contains("you: It ships today.", StringComparison.Ordinal),
                "the customer's message and the reply");
            output.WriteLine(exchange);

            // Close: the customer is told, the console's list empties.
            await terminal.PressAsync("C-x");
            await NextAsync(phone, m => m.Content?.CustomType == CustomerServiceNotices.Closed);
            var screen = await terminal.WaitForTextAsync("closed the session with");
            output.WriteLine(screen);
            Assert.Contains("no sessions", screen, StringComparison.Ordinal);
            Assert.Empty((await fixture.Orleans.GetGrain<ICustomerServiceQueueGrain>(shop).GetSnapshotAsync()).Sessions);
        }
        catch
        {
            output.WriteLine(await terminal.CaptureAsync());
            throw;
        }
    }

    [Fact]
    public async Task The_console_survives_a_lost_connection_and_keeps_serving()
    {
        var (shop, agent, user) = (Ids.User("shop"), Ids.User("agent"), Ids.User("customer"));
        await fixture.CreateAccountAsync(agent, AccountRole.Agent);
        using (var created = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [agent])))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // The console reaches the edge's TCP port through a proxy that can cut the network.
        await using var proxy = new LoopbackProxy(fixture.TcpPort);
        var console = Path.Combine(RepositoryPaths.Root, "Clients", "AgentConsole", "bin", RepositoryPaths.Configuration, "net10.0", "Orleans.Im.AgentConsole.dll");
        await using var terminal = await TmuxSession.StartAsync(["dotnet", console,
            "--http", $"http://127.0.0.1:{fixture.Edge.Endpoints.HttpPort}", "--tcp", $"127.0.0.1:{proxy.Port}",
            "--user", agent, "--password", ApiCalls.Password, "--shop", shop]);
        try
        {
            await terminal.WaitForTextAsync("OFFLINE");
            await terminal.PressAsync("C-g");
            await terminal.WaitForTextAsync("ONLINE");

            proxy.GoDown();
            await terminal.WaitForScreenAsync(s => s.Contains("reconnecting", StringComparison.Ordinal) || s.Contains("disconnected", StringComparison.Ordinal), "the lost connection");
            proxy.ComeBack();
            await terminal.WaitForTextAsync("reconnected");
            await terminal.WaitForTextAsync("ONLINE");

            await using var phone = await fixture.ConnectAsync(user);
            await phone.SendTextAsync(GrainKeys.CustomerService(shop, user), "Are you still there?");
            await terminal.WaitForTextAsync("Are you still there?");
            await terminal.TypeAsync("Yes, still here.");
            await terminal.PressAsync("Enter");
            Assert.Equal(shop, (await NextAsync(phone, m => m.Content?.Text == "Yes, still here.")).SenderId);
            output.WriteLine(await terminal.CaptureAsync());
        }
        catch
        {
            output.WriteLine(await terminal.CaptureAsync());
            throw;
        }
    }

    [Fact]
    public async Task The_console_takes_the_online_switch_from_the_server_so_one_press_goes_offline()
    {
        var (shop, agent) = (Ids.User("shop"), Ids.User("agent"));
        await fixture.CreateAccountAsync(agent, AccountRole.Agent);
        using (var created = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [agent])))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        // The agent went available in an earlier console run; the server remembers it.
        var queue = fixture.Orleans.GetGrain<ICustomerServiceQueueGrain>(shop);
        Assert.Equal(AccessStatus.Ok, await queue.SetAgentAvailableAsync(agent, true));

        var console = Path.Combine(RepositoryPaths.Root, "Clients", "AgentConsole", "bin", RepositoryPaths.Configuration, "net10.0", "Orleans.Im.AgentConsole.dll");
        await using var terminal = await TmuxSession.StartAsync(["dotnet", console,
            "--http", $"http://127.0.0.1:{fixture.Edge.Endpoints.HttpPort}", "--tcp", $"127.0.0.1:{fixture.TcpPort}",
            "--user", agent, "--password", ApiCalls.Password, "--shop", shop]);
        try
        {
            await terminal.WaitForTextAsync("ONLINE");

            // The switch was on: one press turns it off (not on again), and the server hears it.
            await terminal.PressAsync("C-g");
            await terminal.WaitForTextAsync("offline: your sessions went back to the queue");
            await terminal.WaitForTextAsync("OFFLINE");
            Assert.False((await queue.GetAgentViewAsync(agent))!.Available);
        }
        catch
        {
            output.WriteLine(await terminal.CaptureAsync());
            throw;
        }
    }

    private static async Task<V1.Message> NextAsync(Client.ImClient client, Func<V1.Message, bool> match)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var message = await client.Messages.ReadAsync(cts.Token);
            if (match(message))
            {
                return message;
            }
        }
    }
}

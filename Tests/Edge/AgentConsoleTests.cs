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
        var (shop, agent) = await CreateShopAsync();
        var user = Ids.User("customer");
        await using var terminal = await StartConsoleAsync(agent, shop, fixture.TcpPort, password: null);
        await ShowingTheScreenOnFailureAsync(terminal, async () =>
        {
            // Sign in: the password is asked for.
            await terminal.WaitForTextAsync("Password:");
            await terminal.TypeAsync(ApiCalls.Password);
            await terminal.PressAsync("Enter");

            // Online: the agent takes sessions.
            await GoOnlineAsync(terminal);

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
            // The status comes before the view that no longer lists the session (the close is told, then the view asked).
            var screen = await terminal.WaitForScreenAsync(
                s => s.Contains("closed the session with", StringComparison.Ordinal) && s.Contains("no sessions", StringComparison.Ordinal),
                "the closed session gone from the list");
            output.WriteLine(screen);
            Assert.Empty((await fixture.Orleans.GetGrain<ICustomerServiceQueueGrain>(shop).GetSnapshotAsync()).Sessions);
        });
    }

    [Fact]
    public async Task The_console_survives_a_lost_connection_and_keeps_serving()
    {
        var (shop, agent) = await CreateShopAsync();
        var user = Ids.User("customer");

        // The console reaches the edge's TCP port through a proxy that can cut the network.
        await using var proxy = new LoopbackProxy(fixture.TcpPort);
        await using var terminal = await StartConsoleAsync(agent, shop, proxy.Port);
        await ShowingTheScreenOnFailureAsync(terminal, async () =>
        {
            await GoOnlineAsync(terminal);

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
        });
    }

    [Fact]
    public async Task A_console_signed_out_by_another_console_of_the_agent_waits_for_ctrl_r_instead_of_signing_in_again()
    {
        const string Asked = "press Ctrl+R to sign in again";
        var (shop, agent) = await CreateShopAsync();
        await using var first = await StartConsoleAsync(agent, shop, fixture.TcpPort);
        await ShowingTheScreenOnFailureAsync(first, async () =>
        {
            await first.WaitForTextAsync("connection: connected");

            // The same agent on the same machine: the same device id, so the second console's login signs the first out.
            await using var second = await StartConsoleAsync(agent, shop, fixture.TcpPort);
            await first.WaitForTextAsync(Asked);
            await second.WaitForTextAsync("connection: connected");

            // The first stays out: a few of its reconnect ticks later, the second is still the one connected.
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.DoesNotContain(Asked, await second.CaptureAsync(), StringComparison.Ordinal);
            Assert.Contains(Asked, await first.CaptureAsync(), StringComparison.Ordinal);

            // Asked, it signs in again, and now the second is the one told.
            await first.PressAsync("C-r");
            await second.WaitForTextAsync(Asked);
            await first.WaitForScreenAsync(s => !s.Contains(Asked, StringComparison.Ordinal), "the first console signed in again");
        });
    }

    [Fact]
    public async Task The_console_takes_the_online_switch_from_the_server_so_one_press_goes_offline()
    {
        var (shop, agent) = await CreateShopAsync();

        // The agent went available in an earlier console run; the server remembers it.
        var queue = fixture.Orleans.GetGrain<ICustomerServiceQueueGrain>(shop);
        Assert.Equal(AccessStatus.Ok, await queue.SetAgentAvailableAsync(agent, true));

        await using var terminal = await StartConsoleAsync(agent, shop, fixture.TcpPort);
        await ShowingTheScreenOnFailureAsync(terminal, async () =>
        {
            await terminal.WaitForTextAsync("ONLINE");

            // The switch was on: one press turns it off (not on again), and the server hears it.
            await terminal.PressAsync("C-g");
            await terminal.WaitForTextAsync("offline: your sessions went back to the queue");
            await terminal.WaitForTextAsync("OFFLINE");
            Assert.False((await queue.GetAgentViewAsync(agent))!.Available);
        });
    }

    [Fact]
    public async Task A_session_not_selected_shows_its_whole_history_when_selected_and_a_recalled_message_shows_as_recalled()
    {
        var (shop, agent) = await CreateShopAsync();
        var (first, second) = (Ids.User("c1"), Ids.User("c2"));
        await using var proxy = new LoopbackProxy(fixture.TcpPort);
        await using var terminal = await StartConsoleAsync(agent, shop, proxy.Port);
        await ShowingTheScreenOnFailureAsync(terminal, async () =>
        {
            await GoOnlineAsync(terminal);

            await using var firstPhone = await fixture.ConnectAsync(first);
            await firstPhone.SendTextAsync(GrainKeys.CustomerService(shop, first), "Question one?");
            await terminal.WaitForTextAsync("Question one?");
            var secondConversation = GrainKeys.CustomerService(shop, second);
            await using var secondPhone = await fixture.ConnectAsync(second);
            await secondPhone.SendTextAsync(secondConversation, "Question two?");
            await terminal.WaitForTextAsync(second);

            // A reconnect: each history is pulled again when next selected. A message for the session not selected
            // arrives meanwhile; it must not pass for that session's history.
            proxy.DropAll();
            await terminal.WaitForTextAsync("reconnected");
            await terminal.WaitForTextAsync("Question one?");
            // Another device of the agent's shows when the push went out to the agent's devices.
            await using var agentProbe = await fixture.ConnectAsync(agent, "probe");
            var card = await secondPhone.SendTextAsync(secondConversation, "My card is 4111 1111 1111 1111");
            Assert.Equal(V1.SendStatus.Sent, card.Status);
            await NextAsync(agentProbe, m => m.ConversationId == secondConversation && m.Seq == card.Seq);
            await Task.Delay(TimeSpan.FromSeconds(1));

            await terminal.PressAsync("Tab");
            var selected = await terminal.WaitForScreenAsync(
                s => s.Contains("Question two?", StringComparison.Ordinal) && s.Contains("4111 1111", StringComparison.Ordinal),
                "the second session's question and its new message", TimeSpan.FromSeconds(15));
            output.WriteLine(selected);

            // The card details were posted by mistake: recalled, they leave the agent's screen too.
            await secondPhone.RecallAsync(secondConversation, card.Seq);
            var recalled = await terminal.WaitForScreenAsync(
                s => s.Contains("(recalled)", StringComparison.Ordinal) && !s.Contains("4111", StringComparison.Ordinal), "the recall",
                TimeSpan.FromSeconds(15));
            output.WriteLine(recalled);
        });
    }

    [Fact]
    public async Task A_reply_sent_while_the_connection_is_down_leaves_the_console_responsive_and_is_kept_to_send_again()
    {
        var (shop, agent) = await CreateShopAsync();
        var user = Ids.User("customer");
        var conversation = GrainKeys.CustomerService(shop, user);
        await using var proxy = new LoopbackProxy(fixture.TcpPort);
        await using var terminal = await StartConsoleAsync(agent, shop, proxy.Port);
        await ShowingTheScreenOnFailureAsync(terminal, async () =>
        {
            await GoOnlineAsync(terminal);
            await using var phone = await fixture.ConnectAsync(user);
            await phone.SendTextAsync(conversation, "Hello?");
            await terminal.WaitForTextAsync("Hello?");

            proxy.GoDown();
            await terminal.WaitForScreenAsync(s => s.Contains("reconnecting", StringComparison.Ordinal) || s.Contains("disconnected", StringComparison.Ordinal), "the lost connection");
            await terminal.TypeAsync("Sorry for the wait");
            await terminal.PressAsync("Enter");
            await terminal.WaitForTextAsync("sending to");

            // The send waits in the background: keys still work meanwhile.
            await terminal.PressAsync("C-t");
            await terminal.WaitForTextAsync("Transfer to agent", TimeSpan.FromSeconds(5));
            await terminal.PressAsync("Escape");
            await terminal.WaitForTextAsync("Reply>", TimeSpan.FromSeconds(5));

            // No ack in time: the agent hears it, and the text is back on the input line.
            var unsent = await terminal.WaitForScreenAsync(
                s => s.Contains("not sent", StringComparison.Ordinal) && s.Contains("Reply> Sorry for the wait", StringComparison.Ordinal),
                "the unsent reply given back", TimeSpan.FromSeconds(60));
            output.WriteLine(unsent);

            // Back online, Enter sends it again; stored once, whether or not the SDK resent the first attempt itself (the
            // console then says so at once, and takes the reply off the line: Enter sends nothing).
            proxy.ComeBack();
            await terminal.WaitForScreenAsync(s => s.Contains("reconnected", StringComparison.Ordinal) || s.Contains("was sent after all", StringComparison.Ordinal),
                "the reconnection", TimeSpan.FromSeconds(60));
            await terminal.PressAsync("Enter");
            await NextAsync(phone, m => m.Content?.Text == "Sorry for the wait");
            await Task.Delay(TimeSpan.FromSeconds(1));
            var history = (await phone.PullAsync(conversation, 0, limit: 50)).Messages;
            Assert.Single(history, m => m.Content?.Text == "Sorry for the wait");

            // Quitting works with a send still waiting for a connection.
            proxy.GoDown();
            await terminal.WaitForScreenAsync(s => s.Contains("reconnecting", StringComparison.Ordinal) || s.Contains("disconnected", StringComparison.Ordinal), "the lost connection");
            await terminal.TypeAsync("Bye");
            await terminal.PressAsync("Enter");
            await terminal.WaitForTextAsync("sending to");
            await terminal.PressAsync("C-e");
            Assert.True(await Eventually.ReturnsAsync(terminal.HasEndedAsync, ended => ended, TimeSpan.FromSeconds(10)), "the console did not quit");
        });
    }

    [Fact]
    public async Task Bad_options_and_an_unreachable_edge_end_the_console_with_a_clear_message()
    {
        var (shop, agent) = await CreateShopAsync();
        var (badOption, badOptionText) = await RunConsoleAsync(["--tcp", "127.0.0.1", "--user", agent, "--shop", shop]);
        output.WriteLine(badOptionText);
        Assert.Equal(2, badOption);
        Assert.Contains("--tcp needs HOST:PORT", badOptionText, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", badOptionText, StringComparison.Ordinal);

        // Nothing listens there: signed in over HTTP, the TCP connect fails.
        int closedPort;
        using (var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var (unreachable, unreachableText) = await RunConsoleAsync([
            "--http", $"http://127.0.0.1:{fixture.Edge.Endpoints.HttpPort}", "--tcp", $"127.0.0.1:{closedPort}",
            "--user", agent, "--password", ApiCalls.Password, "--shop", shop]);
        output.WriteLine(unreachableText);
        Assert.Equal(1, unreachable);
        Assert.Contains($"Cannot connect to 127.0.0.1:{closedPort}", unreachableText, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", unreachableText, StringComparison.Ordinal);
    }

    /// <summary>Runs the console to its end without a terminal (for its start-up errors): exit code, and what it wrote.</summary>
    private static async Task<(int ExitCode, string Output)> RunConsoleAsync(IReadOnlyList<string> arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ConsolePath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("the console did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>The agent, signed in and shown offline, goes online (Ctrl-G).</summary>
    private static async Task GoOnlineAsync(TmuxSession terminal)
    {
        await terminal.WaitForTextAsync("OFFLINE");
        await terminal.PressAsync("C-g");
        await terminal.WaitForTextAsync("ONLINE");
    }

    /// <summary>Runs a test's steps against the console; when one fails, the console's screen goes to the test output.</summary>
    private async Task ShowingTheScreenOnFailureAsync(TmuxSession terminal, Func<Task> steps)
    {
        try
        {
            await steps();
        }
        catch
        {
            output.WriteLine(await terminal.CaptureAsync());
            throw;
        }
    }

    private static string ConsolePath =>
        Path.Combine(RepositoryPaths.Root, "Clients", "AgentConsole", "bin", RepositoryPaths.Configuration, "net10.0", "Orleans.Im.AgentConsole.dll");

    /// <summary>A shop with one agent (who has the tests' password).</summary>
    private async Task<(string Shop, string Agent)> CreateShopAsync()
    {
        var (shop, agent) = (Ids.User("shop"), Ids.User("agent"));
        await fixture.CreateAccountAsync(agent, AccountRole.Agent);
        using var created = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [agent]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (shop, agent);
    }

    /// <summary>
    /// The console signed in as <paramref name="agent"/>, its TCP connection to <paramref name="tcpPort"/> on loopback;
    /// without a password it asks for one.
    /// </summary>
    private Task<TmuxSession> StartConsoleAsync(string agent, string shop, int tcpPort, string? password = ApiCalls.Password) =>
        TmuxSession.StartAsync(["dotnet", ConsolePath,
            "--http", $"http://127.0.0.1:{fixture.Edge.Endpoints.HttpPort}", "--tcp", $"127.0.0.1:{tcpPort}",
            "--user", agent, .. password is null ? Array.Empty<string>() : ["--password", password], "--shop", shop]);

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

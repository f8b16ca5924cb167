using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Orleans.Im.Client;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// How the SDK reconnects and catches up, against edges played by the test over real sockets, so that one answer can go
/// missing while the connection stays healthy (pings answered) — a lost reply inside a server is what no proxy or socket
/// fault can show: a send or catch-up left unanswered, which addresses an attempt tries, and what becomes of
/// unacknowledged sends once the client stops trying.
/// </summary>
[Trait("Category", "Edge")]
public sealed class SdkReconnectTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_send_refused_for_the_moment_is_sent_again_with_its_id_and_a_refusal_for_good_is_answered_at_once()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 0);

        // A failover: the first two tries are refused as unavailable (retryable), the third is taken, on one connection.
        var played = new PlayedEdge { SendsRefused = 2 };
        var (_, served) = await ConnectToAsync(client, edge, played);
        var ack = await client.SendTextAsync("p2p:alice:bob", "hello", clientMsgId: "failover").WaitAsync(Patience);
        Assert.Equal((V1.SendStatus.Duplicate, PlayedEdge.AckedSeq), (ack.Status, ack.Seq));
        Assert.Equal(["failover", "failover", "failover"], played.Sends);
        Assert.Equal(1, client.ConnectionCount);
        await client.DisposeAsync();
        await served.WaitAsync(Patience);

        // Not allowed (blocked) is the answer, not a moment's refusal: sent once, and answered at once.
        using var second = new Listener();
        await using var blocked = NewClient(second, maxReconnectAttempts: 0);
        var refusing = new PlayedEdge { SendsRefused = 1, SendRefusal = new V1.Error { Code = V1.ErrorCode.NotAllowed, Message = "blocked" } };
        var (_, refusingServed) = await ConnectToAsync(blocked, second, refusing);
        var refused = await blocked.SendTextAsync("p2p:alice:mallory", "hi", clientMsgId: "blocked").WaitAsync(Patience);
        Assert.Equal((V1.SendStatus.Refused, V1.ErrorCode.NotAllowed), (refused.Status, refused.Error.Code));
        Assert.Equal(["blocked"], refusing.Sends);
        await blocked.DisposeAsync();
        await refusingServed.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_send_whose_ack_never_comes_on_a_live_connection_is_resent_on_a_new_one_and_completes()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 10, requestTimeout: TimeSpan.FromSeconds(3));

        // The first connection answers everything (login, sync, pings) except the send.
        var firstEdge = new PlayedEdge { AnswerSends = false };
        var connecting = client.ConnectAsync();
        await using var first = await edge.AcceptAsync();
        var firstServed = firstEdge.ServeAsync(first, Patience);
        await connecting.WaitAsync(Patience);
        var sending = client.SendTextAsync("p2p:alice:bob", "hello", clientMsgId: "lost-ack");

        // The client gives up on the ack, closes that connection and resends on a new one, which answers it.
        var secondEdge = new PlayedEdge();
        await using var second = await edge.AcceptAsync();
        var secondServed = secondEdge.ServeAsync(second, Patience);
        var ack = await sending.WaitAsync(Patience);

        Assert.Equal((V1.SendStatus.Duplicate, PlayedEdge.AckedSeq, "lost-ack"), (ack.Status, ack.Seq, ack.ClientMsgId));
        Assert.Equal((2, ImClientStatus.Connected), (client.ConnectionCount, client.Status));
        Assert.Equal(["lost-ack"], firstEdge.Sends);
        Assert.Equal(["lost-ack"], secondEdge.Sends);
        await firstServed.WaitAsync(Patience);
        Assert.True(firstEdge.Pings > 0, "the first connection was alive (its pings answered) when the client gave up on the ack");
        await client.DisposeAsync();
        await secondServed.WaitAsync(Patience);
    }

    [Fact]
    public async Task An_instant_message_whose_ack_never_came_is_not_sent_again_after_a_reconnect_and_fails_with_its_id()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 10, requestTimeout: TimeSpan.FromSeconds(3));
        var firstEdge = new PlayedEdge { AnswerSends = false };
        var connecting = client.ConnectAsync();
        await using var first = await edge.AcceptAsync();
        var firstServed = firstEdge.ServeAsync(first, Patience);
        await connecting.WaitAsync(Patience);

        // A call's offer (never stored, so never deduplicated) and a message, neither acked on the first connection.
        var offer = new V1.Content { Type = V1.ContentType.Custom, CustomType = ImClient.CallSignalType, CustomData = "{\"kind\":\"offer\"}" };
        var ringing = client.SendAsync("p2p:alice:bob", offer, clientMsgId: "ring", messageClass: V1.MessageClass.Instant);
        var sending = client.SendTextAsync("p2p:alice:bob", "hello", clientMsgId: "kept");

        // On the new connection only the message goes again: the offer would ring the callee after the caller gave up.
        var secondEdge = new PlayedEdge();
        await using var second = await edge.AcceptAsync();
        var secondServed = secondEdge.ServeAsync(second, Patience);
        Assert.Equal("kept", (await sending.WaitAsync(Patience)).ClientMsgId);
        var lapsed = await Assert.ThrowsAsync<ImClientException>(() => ringing.WaitAsync(Patience));
        Assert.Equal("ring", lapsed.ClientMsgId);
        Assert.Equal(["kept"], secondEdge.Sends);
        await client.DisposeAsync();
        await firstServed.WaitAsync(Patience);
        await secondServed.WaitAsync(Patience);
    }

    [Fact]
    public async Task One_reconnect_attempt_tries_every_address_of_a_redirect_before_backing_off()
    {
        using var draining = new Listener();
        using var target = new Listener();
        var closedPort = FreePorts.Next(); // nobody listens there: refused at once

        // One attempt only: before, it went to the redirect's first address alone, which refuses at once.
        await using var client = NewClient(draining, maxReconnectAttempts: 1);
        var connecting = client.ConnectAsync();
        await using (var first = await draining.AcceptAsync())
        {
            var served = new PlayedEdge().ServeAsync(first, Patience);
            await connecting.WaitAsync(Patience);
            await first.SendAsync(V1.Op.Redirect, 0, new V1.Redirect
            {
                Addresses = { $"127.0.0.1:{closedPort}", $"{target.Host}:{target.Port}" },
                Reason = "draining",
            });
            first.Socket.Shutdown(SocketShutdown.Both);
            await served.WaitAsync(Patience);
        }

        await using var second = await target.AcceptAsync();
        var secondServed = new PlayedEdge().ServeAsync(second, Patience);
        var status = await Eventually.ReturnsAsync(() => Task.FromResult(client.Status), s => s == ImClientStatus.Connected, Patience);

        Assert.Equal((ImClientStatus.Connected, 2, 1), (status, client.ConnectionCount, client.RedirectCount));
        Assert.Equal($"{target.Host}:{target.Port}", client.Endpoint);
        await client.DisposeAsync();
        await secondServed.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_client_that_lost_its_connection_without_the_redirect_follows_the_one_its_draining_edge_answers_the_reconnect_with()
    {
        using var draining = new Listener();
        using var target = new Listener();
        await using var client = NewClient(draining, maxReconnectAttempts: 3);

        // Before, the reconnect loop kept its list (the draining edge alone) and went on trying it until its attempts were
        // spent.
        await LoseAndRedirectAsync(client, draining, target);
        await ConnectsWhereTheRedirectSaidAsync(client, target);
    }

    [Fact]
    public async Task An_attempt_that_followed_a_redirect_and_failed_leaves_the_next_attempt_to_start_where_the_redirect_said()
    {
        using var draining = new Listener();
        using var target = new Listener();
        await using var client = NewClient(draining, maxReconnectAttempts: 3, requestTimeout: TimeSpan.FromSeconds(1));
        await LoseAndRedirectAsync(client, draining, target);

        // The edge it was sent to takes the connection and says nothing (slow, say): the attempt fails on the login's
        // timeout, and the draining edge after it is gone. Before, the next attempts went back to that edge alone, were
        // refused, and the client gave up with an edge that answers one address away.
        await using (var silent = await target.AcceptAsync())
        {
            await Eventually.UntilAsync(() => Task.FromResult(client.Status), s => s != ImClientStatus.Connecting, Patience);
        }

        await ConnectsWhereTheRedirectSaidAsync(client, target);
    }

    [Fact]
    public async Task Once_the_client_gives_up_reconnecting_its_unacked_sends_fail_and_are_not_resent_later()
    {
        using var edge = new Listener();
        var deviceId = "phone-" + Guid.NewGuid().ToString("N")[..8];
        await using var client = NewClient(edge, maxReconnectAttempts: 2, deviceId: deviceId);
        var (first, served, sending) = await SendUnackedAsync(edge, client, "stranded");
        await using (first)
        {
            first.Socket.Shutdown(SocketShutdown.Both);
            await served.WaitAsync(Patience);
        }

        // The edge is down for the client: every reconnect is accepted and closed before the login is answered.
        using var refusing = RefuseAll(edge);
        var failure = (await sending.WaitAsync(Patience)).Failure;

        Assert.IsType<ImClientException>(failure);
        Assert.Contains("stranded", failure.Message, StringComparison.Ordinal);
        Assert.Equal((ImClientStatus.WaitingForReconnect, 0), (client.Status, client.UnackedCount));
        var attempts = (await refusing.StopAfterAsync(deviceId, 2)).GetValueOrDefault(deviceId);
        Assert.True(attempts == 2, $"{attempts} reconnect attempts of this client, 2 expected; {refusing.Others} other connections");
        // Forty times the reconnect delay: a client that would try once more has knocked by then, however busy the machine.
        // Only a login of this device counts: in a full parallel run a connection from elsewhere once waited here.
        using (var afterGivingUp = RefuseAll(edge))
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            var late = (await afterGivingUp.StopAfterAsync(deviceId, 0)).GetValueOrDefault(deviceId);
            Assert.True(late == 0, $"a client that gave up does not try again by itself ({late} logins; {afterGivingUp.Others} other connections)");
        }

        // Until the application reconnects, a new send fails at once rather than wait in a queue nothing sends.
        var meanwhile = (await Outcome(client.SendTextAsync("p2p:alice:bob", "meanwhile", clientMsgId: "meanwhile")).WaitAsync(Patience)).Failure;
        Assert.IsType<ImClientException>(meanwhile);
        Assert.Equal(0, client.UnackedCount);

        // Back up: an explicit connect does not resend it; the application's retry with the same id is acked once.
        var secondEdge = new PlayedEdge();
        var accepting = edge.AcceptAsync();
        var reconnecting = client.ConnectAsync();
        await using var second = await accepting;
        var secondServed = secondEdge.ServeAsync(second, Patience);
        await reconnecting.WaitAsync(Patience);
        await client.PingAsync().WaitAsync(Patience);
        Assert.Empty(secondEdge.Sends);

        var ack = await client.SendTextAsync("p2p:alice:bob", "hello", clientMsgId: "stranded").WaitAsync(Patience);
        Assert.Equal(("stranded", PlayedEdge.AckedSeq), (ack.ClientMsgId, ack.Seq));
        Assert.Equal(["stranded"], secondEdge.Sends);
        await client.DisposeAsync();
        await secondServed.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_send_queued_before_a_first_connect_that_fails_fails_with_it_instead_of_waiting_for_ever()
    {
        // Nobody listens there any more: the first connect fails, and no reconnect loop runs before a first connection.
        var edge = new Listener();
        edge.Dispose();
        await using var client = NewClient(edge, maxReconnectAttempts: 3);
        var queued = Outcome(client.SendTextAsync("p2p:alice:bob", "queued", clientMsgId: "queued"));

        await Assert.ThrowsAnyAsync<Exception>(() => client.ConnectAsync().WaitAsync(Patience));

        var failure = (await queued.WaitAsync(Patience)).Failure;
        Assert.IsType<ImClientException>(failure);
        Assert.Contains("queued", failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.UnackedCount);
    }

    [Fact]
    public async Task A_client_disposed_while_it_connects_opens_no_connection()
    {
        using var edge = new Listener();
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A token provider that answers late and does not watch the cancellation (a keychain read, say).
        var client = NewClient(edge, maxReconnectAttempts: 0, tokenProvider: async _ =>
        {
            asked.TrySetResult();
            await answer.Task;
            return "token";
        });
        var connecting = client.ConnectAsync();
        await asked.Task.WaitAsync(Patience);

        // The app goes to the background and disposes the client meanwhile. Before, the connect went on: a disposed
        // client stayed logged in, pinging, and the server counted the device connected (no offline pushes for it).
        await client.DisposeAsync();
        answer.TrySetResult();
        await Assert.ThrowsAnyAsync<Exception>(() => connecting.WaitAsync(Patience));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.False(edge.Pending(), "a disposed client connects nowhere");
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.ConnectAsync());
    }

    [Fact]
    public async Task The_applications_connect_tries_the_fallback_addresses_when_the_first_is_gone()
    {
        var gone = new Listener();
        gone.Dispose();
        using var fallback = new Listener();
        await using var client = NewClient(gone, maxReconnectAttempts: 0, fallback: fallback);
        var played = new PlayedEdge();

        // Before, the application's connect tried the last edge alone (here the configured one, gone): a client whose
        // edge was scaled away while the phone was offline could never connect again without being made anew.
        var connecting = client.ConnectAsync();
        await using var connection = await fallback.AcceptAsync();
        var served = played.ServeAsync(connection, Patience);
        await connecting.WaitAsync(Patience);
        Assert.Equal(ImClientStatus.Connected, client.Status);
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_reconnect_waiting_out_its_delay_does_not_log_in_again_after_a_kick_on_the_connection_the_application_opened()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 5, reconnectBaseDelay: TimeSpan.FromSeconds(1.5));
        var (first, firstServed) = await ConnectToAsync(client, edge, new PlayedEdge());
        await using (first)
        {
            first.Socket.Shutdown(SocketShutdown.Both);
            await firstServed.WaitAsync(Patience);
        }

        // The loss's reconnect waits out its first delay; the application connects meanwhile (a network change, say), and
        // that connection is kicked: another installation signed in with this device id.
        await Eventually.UntilAsync(() => Task.FromResult(client.Status), status => status == ImClientStatus.Reconnecting, Patience);
        var (second, secondServed) = await ConnectToAsync(client, edge, new PlayedEdge());
        await using (second)
        {
            await second.SendAsync(V1.Op.Push, 0, new V1.PushBatch
            {
                Events = { new V1.Event { Kick = new V1.Kick { Reason = "signed in on another mobile device (ios)" } } },
            });
            second.Socket.Shutdown(SocketShutdown.Both);
            await secondServed.WaitAsync(Patience);
        }

        // Before, the waiting reconnect woke and logged in again, taking the device back from the one that replaced it.
        await Eventually.UntilAsync(() => Task.FromResult(client.Status), status => status == ImClientStatus.WaitingForReconnect, Patience);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(edge.Pending(), "a kicked client does not reconnect by itself");
        Assert.Equal(ImClientStatus.WaitingForReconnect, client.Status);
    }

    [Fact]
    public async Task A_send_after_the_client_is_disposed_fails_at_once()
    {
        using var edge = new Listener();
        var client = NewClient(edge, maxReconnectAttempts: 0);
        var played = new PlayedEdge();
        var accepting = edge.AcceptAsync();
        var connecting = client.ConnectAsync();
        await using var connection = await accepting;
        var served = played.ServeAsync(connection, Patience);
        await connecting.WaitAsync(Patience);
        await client.DisposeAsync();

        var failure = (await Outcome(client.SendTextAsync("p2p:alice:bob", "late", clientMsgId: "late")).WaitAsync(Patience)).Failure;

        Assert.IsType<ImClientException>(failure);
        Assert.Empty(played.Sends);
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task Clients_whose_edge_refuses_every_login_make_exactly_their_reconnect_attempts_and_give_up()
    {
        // Many clients at once, so that a failed attempt's loss (seen by its read loop) and the attempt's failure (seen by
        // the reconnect loop) race on busy threads. The loss was once taken for a live connection's and started a second
        // reconnect loop, with attempts of its own: with the race widened by a pause, every client kept reconnecting.
        const int Clients = 40, Attempts = 3;
        using var edge = new Listener();
        var deviceIds = Enumerable.Range(0, Clients).Select(i => $"phone-{i}-{Guid.NewGuid():N}").ToList();
        var clients = deviceIds.Select(deviceId => NewClient(edge, maxReconnectAttempts: Attempts, deviceId: deviceId)).ToList();
        var connections = new List<RawConnection>();
        var served = new List<Task>();
        try
        {
            foreach (var client in clients)
            {
                var connecting = client.ConnectAsync();
                var connection = await edge.AcceptAsync();
                connections.Add(connection);
                served.Add(new PlayedEdge().ServeAsync(connection, Patience));
                await connecting.WaitAsync(Patience);
            }

            using var refusing = RefuseAll(edge);
            foreach (var connection in connections)
            {
                connection.Socket.Shutdown(SocketShutdown.Both);
            }

            await Task.WhenAll(served).WaitAsync(Patience);
            var statuses = await Eventually.ReturnsAsync(
                () => Task.FromResult(clients.Select(c => c.Status).ToList()),
                s => s.All(status => status == ImClientStatus.WaitingForReconnect),
                Patience);
            // Forty times the reconnect delay for an attempt too many to knock, however busy the machine.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var logins = await refusing.StopAfterAsync(deviceIds[^1], Attempts);

            Assert.All(statuses, status => Assert.Equal(ImClientStatus.WaitingForReconnect, status));
            var wrong = deviceIds.Select(d => logins.GetValueOrDefault(d)).Where(n => n != Attempts).ToList();
            Assert.True(wrong.Count == 0, $"{wrong.Count} of {Clients} clients did not make {Attempts} attempts: {string.Join(", ", wrong)} logins");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_request_made_while_a_login_is_refused_fails_with_it_not_at_its_timeout()
    {
        using var edge = new Listener();
        // A timeout far longer than the test: a request left waiting on the refused attempt would fail only with it.
        await using var client = NewClient(edge, maxReconnectAttempts: 1, requestTimeout: TimeSpan.FromMinutes(2));
        var connecting = Outcome(client.ConnectAsync());
        await using var connection = await edge.AcceptAsync();
        var login = await connection.ReadFrameAsync(Patience);
        Assert.Equal(V1.Op.Login, login?.Op);

        // The application pings while the login waits for its answer; the edge reads the ping, then refuses the login
        // (the socket stays open: only the client's giving up on it closes it).
        var pinging = Outcome(client.PingAsync());
        Assert.Equal(V1.Op.Ping, (await connection.ReadFrameAsync(Patience))?.Op);
        await connection.SendAsync(V1.Op.Error, login!.Value.RequestId, new V1.Error { Code = V1.ErrorCode.Unauthenticated, Message = "token expired" });

        Assert.Contains("token expired", (await connecting.WaitAsync(Patience)).Failure.Message, StringComparison.Ordinal);
        var ping = (await pinging.WaitAsync(Patience)).Failure;
        Assert.IsType<ImClientException>(ping);
        Assert.DoesNotContain("no answer", ping.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_provider_that_says_the_sign_in_is_over_stops_the_reconnects_at_once()
    {
        using var edge = new Listener();
        var asked = 0;
        await using var client = NewClient(edge, maxReconnectAttempts: 10, tokenProvider: _ => Interlocked.Increment(ref asked) == 1
            ? Task.FromResult("token")
            : throw new ImAuthException(HttpStatusCode.Unauthorized, ImSession.SessionEndedCode, "signed out on another device"));
        var (first, served, sending) = await SendUnackedAsync(edge, client, "orphan");
        await using (first)
        {
            first.Socket.Shutdown(SocketShutdown.Both);
            await served.WaitAsync(Patience);
        }

        // The first reconnect asks for a token and is told the session is over: no backing off through ten attempts.
        var failure = (await sending.WaitAsync(Patience)).Failure;
        Assert.IsType<ImClientException>(failure);
        Assert.Contains("signed out on another device", failure.Message, StringComparison.Ordinal);
        Assert.Equal((ImClientStatus.WaitingForReconnect, 2), (client.Status, Volatile.Read(ref asked)));
    }

    [Fact]
    public async Task A_token_an_edge_refuses_is_told_to_the_application_and_the_next_attempt_asks_for_another()
    {
        // A provider that keeps its token until told it was refused (as ImSession does until it is due for renewal).
        using var edge = new Listener();
        var current = "old";
        var told = new List<string>();
        await using var client = NewClient(edge, maxReconnectAttempts: 10,
            tokenProvider: _ => Task.FromResult(Volatile.Read(ref current)),
            tokenRefused: (refused, _) =>
            {
                lock (told)
                {
                    told.Add(refused);
                }

                Volatile.Write(ref current, "renewed");
                return Task.CompletedTask;
            });
        var (first, served, _) = await SendUnackedAsync(edge, client, "kept");
        await using (first)
        {
            first.Socket.Shutdown(SocketShutdown.Both);
            await served.WaitAsync(Patience);
        }

        // The edges were restarted with a new signing key: the kept token is refused.
        await using (var refusing = await edge.AcceptAsync())
        {
            var login = await refusing.ReadFrameAsync(Patience);
            Assert.Equal("old", V1.LoginRequest.Parser.ParseFrom(login!.Value.Body).Token);
            await refusing.SendAsync(V1.Op.Error, login.Value.RequestId, new V1.Error { Code = V1.ErrorCode.Unauthenticated, Message = "invalid or expired token" });
        }

        // Told, the provider renews: the next attempt logs in with the new token, not the refused one again.
        await using var next = await edge.AcceptAsync();
        var again = await next.ReadFrameAsync(Patience);
        Assert.Equal("renewed", V1.LoginRequest.Parser.ParseFrom(again!.Value.Body).Token);
        lock (told)
        {
            Assert.Equal(["old"], told);
        }
    }

    [Fact]
    public async Task A_catch_up_refused_for_the_moment_is_tried_again_on_the_same_connection()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 1);
        var played = new PlayedEdge { SyncsRefused = 2 };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;

        // Catch-ups on a timer are off: only the retry can ask a third time.
        var syncs = await Eventually.ReturnsAsync(() => Task.FromResult(played.Syncs), n => n >= 3, Patience);

        Assert.Equal(3, syncs);
        Assert.Equal((1, ImClientStatus.Connected), (client.ConnectionCount, client.Status));
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_catch_up_left_unanswered_is_tried_again_on_the_same_connection()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 1, requestTimeout: TimeSpan.FromSeconds(2));
        var played = new PlayedEdge { SyncsUnanswered = 1 };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;

        // Catch-ups on a timer are off: only the retry can ask again. A slow answer does not cost the connection
        // (closing it would have every client of a slow server log in and sync again).
        var syncs = await Eventually.ReturnsAsync(() => Task.FromResult(played.Syncs), n => n >= 2, Patience);

        Assert.Equal(2, syncs);
        Assert.Equal((1, ImClientStatus.Connected), (client.ConnectionCount, client.Status));
        Assert.True(played.Pings > 0, "the connection stayed alive (its pings answered) while the sync went unanswered");
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_kicked_client_fails_its_unacked_sends_with_the_reason_and_does_not_reconnect()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 5);
        var (connection, served, sending) = await SendUnackedAsync(edge, client, "kicked");
        await using (connection)
        {
            await connection.SendAsync(V1.Op.Push, 0, new V1.PushBatch
            {
                Events = { new V1.Event { Kick = new V1.Kick { Reason = "signed in on another mobile device (ios)" } } },
            });
            connection.Socket.Shutdown(SocketShutdown.Both);
            await served.WaitAsync(Patience);
        }

        var failure = (await sending.WaitAsync(Patience)).Failure;

        Assert.IsType<ImClientException>(failure);
        Assert.Contains("signed in on another mobile device (ios)", failure.Message, StringComparison.Ordinal);
        Assert.Equal((ImClientStatus.WaitingForReconnect, 0, 1), (client.Status, client.UnackedCount, client.ConnectionCount));
        // Forty times the reconnect delay: a client that would reconnect has knocked by then, however busy the machine.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(edge.Pending(), "a kicked client does not reconnect by itself");
    }

    [Fact]
    public async Task A_reconnect_kicked_while_logging_in_stops_as_signed_out()
    {
        using var edge = new Listener();
        using var fallback = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 10, fallback: fallback);
        var (first, served, sending) = await SendUnackedAsync(edge, client, "kicked at login");
        await using (first)
        {
            first.Socket.Shutdown(SocketShutdown.Both);
            await served.WaitAsync(Patience);
        }

        // The session ended while the device was away: the edge kicks the reconnect it registers, before the login's answer.
        await using (var again = await edge.AcceptAsync())
        {
            Assert.Equal(V1.Op.Login, (await again.ReadFrameAsync(Patience))?.Op);
            await again.SendAsync(V1.Op.Push, 0, new V1.PushBatch { Events = { new V1.Event { Kick = new V1.Kick { Reason = "session ended" } } } });
            again.Socket.Shutdown(SocketShutdown.Both);
        }

        var failure = (await sending.WaitAsync(Patience)).Failure;
        Assert.Contains("session ended", failure.Message, StringComparison.Ordinal);
        Assert.Equal(ImClientStatus.WaitingForReconnect, client.Status);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(edge.Pending(), "a client signed out while logging in does not try again by itself");
        Assert.False(fallback.Pending(), "nor at another address, as the same device");
    }

    [Fact]
    public async Task A_frame_over_the_sdk_default_but_within_the_limit_the_server_announced_is_accepted()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 1);
        // The server says it takes frames of up to 4 MiB, and (as it may) sends one past the SDK's own 1 MiB default.
        var played = new PlayedEdge { LoginAnswer = new V1.LoginResponse { UserId = "alice", ProtocolVersion = 1, MaxFrameBytes = 4 * 1024 * 1024 } };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;
        var large = new string('x', 3 * 1024 * 1024 / 2);
        await played.WriteAsync(connection, c => c.SendAsync(V1.Op.Push, 0, new V1.PushBatch
        {
            Events = { new V1.Event { Message = new V1.Message { ConversationId = "p2p:alice:bob", Seq = 0, Class = V1.MessageClass.Instant, Content = new V1.Content { Type = V1.ContentType.Text, Text = large } } } },
        }));

        var received = await client.Messages.ReadAsync().AsTask().WaitAsync(Patience);

        Assert.Equal(large.Length, received.Content.Text.Length);
        Assert.Equal((1, ImClientStatus.Connected, (string?)null), (client.ConnectionCount, client.Status, client.StopReason));
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_frame_over_the_hard_ceiling_stops_the_client_with_the_reason_instead_of_reconnecting_in_a_loop()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 5);
        // However large a limit the server announces, the SDK keeps its own ceiling (a body is buffered whole).
        var played = new PlayedEdge { AnswerSends = false, LoginAnswer = new V1.LoginResponse { UserId = "alice", ProtocolVersion = 1, MaxFrameBytes = uint.MaxValue } };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;
        var sending = Outcome(client.SendTextAsync("p2p:alice:bob", "hello", "refused-frame"));
        Assert.Equal(1, await Eventually.ReturnsAsync(() => Task.FromResult(played.Sends.Count), n => n == 1, Patience));

        // A header is enough: the client refuses the frame before waiting for its body.
        await played.WriteAsync(connection, c => c.SendRawAsync(RawConnection.Header(64 * 1024 * 1024 + 1, V1.Op.Push, requestId: 0)));
        var failure = (await sending.WaitAsync(Patience)).Failure;

        // Reconnecting would only be sent the same frame again: the client stops, says why, and the send fails with it.
        Assert.IsType<ImClientException>(failure);
        Assert.Contains("frame", failure.Message, StringComparison.Ordinal);
        Assert.Equal((ImClientStatus.WaitingForReconnect, 1), (client.Status, client.ConnectionCount));
        Assert.Contains("67108865", client.StopReason, StringComparison.Ordinal);
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_push_before_the_first_sync_does_not_make_it_deliver_already_read_messages_as_new()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 1);
        var played = new PlayedEdge
        {
            // Carol's first message is pushed while the login registers, before any sync.
            PushesBeforeLoginOk = [new V1.PushBatch { Events = { new V1.Event { Message = Text("p2p:alice:carol", 1) } } }],
            // Alice had read bob's conversation up to 10 of 12 on another device.
            SyncAnswer = new V1.SyncResponse
            {
                Version = 5,
                Changed =
                {
                    new V1.ConversationEntry { ConversationId = "p2p:alice:bob", ReadSeq = 10, LastSeq = 12 },
                    new V1.ConversationEntry { ConversationId = "p2p:alice:carol", ReadSeq = 0, LastSeq = 1 },
                },
            },
            PullAnswer = pull => PulledUpTo(pull, 12),
        };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;

        var delivered = await DeliveredAsync(client, 3);

        // The unread messages only: the first sync starts bob's conversation at its read position.
        Assert.Equal([("p2p:alice:carol", 1L), ("p2p:alice:bob", 11L), ("p2p:alice:bob", 12L)], delivered);
        Assert.Equal([10L], played.Pulls.Where(p => p.ConversationId == "p2p:alice:bob").Select(p => p.AfterSeq));
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_conversation_whose_pull_is_refused_for_good_does_not_stop_the_catch_up_of_the_others()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 1);
        var played = new PlayedEdge
        {
            // An agent's session handed on: its entry still listed, its pull refused; carol's comes after it.
            SyncAnswer = new V1.SyncResponse
            {
                Version = 5,
                Changed =
                {
                    new V1.ConversationEntry { ConversationId = "cs:shop:dave", ReadSeq = 0, LastSeq = 3 },
                    new V1.ConversationEntry { ConversationId = "p2p:alice:carol", ReadSeq = 0, LastSeq = 2 },
                },
            },
            PullAnswer = pull => pull.ConversationId == "cs:shop:dave"
                ? new V1.PullResponse { ConversationId = pull.ConversationId, Error = new V1.Error { Code = V1.ErrorCode.NotFound, Message = "no such conversation" } }
                : new V1.PullResponse { ConversationId = pull.ConversationId, Messages = { Text(pull.ConversationId, 1), Text(pull.ConversationId, 2) }, LastSeq = 2 },
        };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;

        var delivered = await DeliveredAsync(client, 2);

        Assert.Equal([("p2p:alice:carol", 1L), ("p2p:alice:carol", 2L)], delivered);
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_message_sent_before_the_first_sync_does_not_skip_what_others_said_since_the_login()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 1, requestTimeout: TimeSpan.FromSeconds(2));
        const long LoginAt = 1_800_000_000_000;
        const string Conversation = "p2p:alice:bob";
        // Bob's 1-5 long before alice's login, his 6 just after it (its push still on its way), her own 7.
        V1.Message At(long seq) => new(Text(Conversation, seq)) { ServerTimeMs = seq switch { <= 5 => LoginAt - 60_000, 6 => LoginAt + 500, _ => LoginAt + 800 } };
        var played = new PlayedEdge
        {
            LoginAnswer = new() { UserId = "alice", ProtocolVersion = 1, ServerTimeMs = LoginAt },
            // The first sync gets no answer, so alice's message is acked (as 7) before the sync after it: her message marked
            // bob's read, the 6th too, which this device never showed.
            SyncsUnanswered = 1,
            SyncAnswer = new V1.SyncResponse { Version = 5, Changed = { new V1.ConversationEntry { ConversationId = Conversation, ReadSeq = 7, LastSeq = 7 } } },
            PullAnswer = pull =>
            {
                var range = Enumerable.Range(1, 7).Select(s => (long)s).Where(s => s > pull.AfterSeq && (!pull.HasBeforeSeq || s < pull.BeforeSeq));
                return new V1.PullResponse { ConversationId = pull.ConversationId, LastSeq = 7, Messages = { range.Select(At) } };
            },
        };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;

        Assert.Equal(PlayedEdge.AckedSeq, (await client.SendTextAsync(Conversation, "hi")).Seq);
        var delivered = await DeliveredAsync(client, 2);

        // Bob's 6th (stored since the login) and her own, in order; what was said before the login stays history.
        Assert.Equal([6L, 7L], delivered.Select(d => d.Seq));
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_push_past_a_gap_before_the_first_sync_waits_for_it_and_does_not_bring_back_what_was_read()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 1);
        var played = new PlayedEdge
        {
            // A fresh install: bob's 13th message is pushed while the login registers; alice read up to 10 elsewhere.
            PushesBeforeLoginOk = [new V1.PushBatch { Events = { new V1.Event { Message = Text("p2p:alice:bob", 13) } } }],
            SyncAnswer = new V1.SyncResponse
            {
                Version = 5,
                Changed = { new V1.ConversationEntry { ConversationId = "p2p:alice:bob", ReadSeq = 10, LastSeq = 13 } },
            },
            PullAnswer = pull => PulledUpTo(pull, 13),
        };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;

        var delivered = await DeliveredAsync(client, 3);

        // The unread three, in order; nothing from before the read position, and no pull from the start.
        Assert.Equal([11L, 12L, 13L], delivered.Select(d => d.Seq));
        Assert.DoesNotContain(played.Pulls, p => p.AfterSeq < 10);
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_state_saved_between_the_pages_of_the_first_sync_finishes_it_as_a_first_sync()
    {
        using var edge = new Listener();
        // Saved after the first page (version 3) of a first sync that had more: not done, though it has a version.
        var saved = new ImClientState(3, new Dictionary<string, long>(), FirstSyncDone: false);
        await using var client = NewClient(edge, maxReconnectAttempts: 1, initialState: saved);
        var played = new PlayedEdge
        {
            // The next page: bob's conversation, read up to 10 of 12 on another device.
            SyncAnswer = new V1.SyncResponse { Version = 5, Changed = { new V1.ConversationEntry { ConversationId = "p2p:alice:bob", ReadSeq = 10, LastSeq = 12 } } },
            PullAnswer = pull => PulledUpTo(pull, 12),
        };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;

        var delivered = await DeliveredAsync(client, 2);

        // The unread two only, and the state saved now says the first sync is done.
        Assert.Equal([11L, 12L], delivered.Select(d => d.Seq));
        await Eventually.UntilAsync(() => Task.FromResult(client.SaveState()), s => s.SyncVersion == 5);
        Assert.Equal((5L, true), (client.SaveState().SyncVersion, client.SaveState().FirstSyncDone));
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_gap_that_cannot_be_filled_loses_none_of_the_push_batchs_other_events_and_is_caught_up_later()
    {
        using var edge = new Listener();
        // Bob's conversation was delivered up to 1 before a restart; carol's is new.
        await using var client = NewClient(edge, maxReconnectAttempts: 1, initialState: new ImClientState(1, new Dictionary<string, long> { ["p2p:alice:bob"] = 1 }));
        var played = new PlayedEdge
        {
            // Refused for good (not retryable): before, no catch-up followed such a refusal.
            PullAnswer = pull => new V1.PullResponse { ConversationId = pull.ConversationId, Error = new V1.Error { Code = V1.ErrorCode.NotFound, Message = "played refusal" } },
        };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;

        // Bob's seq 3 leaves a gap (2) whose pull is refused; the read receipt and carol's message come after it.
        await played.WriteAsync(connection, c => c.SendAsync(V1.Op.Push, 0, new V1.PushBatch
        {
            Events =
            {
                new V1.Event { Message = Text("p2p:alice:bob", 3) },
                new V1.Event { ReadReceipt = new V1.ReadReceipt { ConversationId = "p2p:alice:bob", ReaderId = "bob", Seq = 1 } },
                new V1.Event { Message = Text("p2p:alice:carol", 1) },
            },
        }));

        var receipt = await client.Events.ReadAsync().AsTask().WaitAsync(Patience);
        var message = await client.Messages.ReadAsync().AsTask().WaitAsync(Patience);
        var syncs = await Eventually.ReturnsAsync(() => Task.FromResult(played.Syncs), n => n >= 2, Patience);

        Assert.Equal(("bob", 1L), (receipt.ReadReceipt?.ReaderId, receipt.ReadReceipt?.Seq ?? 0));
        Assert.Equal(("p2p:alice:carol", 1L), (message.ConversationId, message.Seq));
        Assert.True(syncs >= 2, $"{syncs} syncs: a catch-up follows the failed fill (catch-ups on a timer are off)");
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    [Fact]
    public async Task An_error_that_answers_no_waiting_request_is_not_reported_as_a_kick()
    {
        using var edge = new Listener();
        await using var client = NewClient(edge, maxReconnectAttempts: 1);
        var played = new PlayedEdge { TypingRefusal = new V1.Error { Code = V1.ErrorCode.RateLimited, Message = "too many requests; retry later", Retryable = true } };
        var (connection, served) = await ConnectToAsync(client, edge, played);
        await using var connectionScope = connection;

        // A refused typing notice (no request waits for its answer), and a late answer to a request long given up on.
        await client.TypingAsync("p2p:alice:bob").WaitAsync(Patience);
        await client.PingAsync().WaitAsync(Patience); // answered after the typing refusal: it has been read by now
        await played.WriteAsync(connection, c => c.SendAsync(V1.Op.Error, 424242, new V1.Error { Code = V1.ErrorCode.Unavailable, Message = "late", Retryable = true }));
        await played.WriteAsync(connection, c => c.SendAsync(V1.Op.Push, 0, new V1.PushBatch
        {
            Events = { new V1.Event { ReadReceipt = new V1.ReadReceipt { ConversationId = "p2p:alice:bob", ReaderId = "bob", Seq = 1 } } },
        }));

        // Events keep their order: the read receipt pushed after both errors is the first event, no kick before it.
        var first = await client.Events.ReadAsync().AsTask().WaitAsync(Patience);

        Assert.Equal(V1.Event.KindOneofCase.ReadReceipt, first.KindCase);
        Assert.Equal((1, ImClientStatus.Connected), (client.ConnectionCount, client.Status));
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    private static V1.Message Text(string conversationId, long seq) => new()
    {
        ConversationId = conversationId,
        Seq = seq,
        SenderId = "bob",
        ClientMsgId = $"{conversationId}-{seq}",
        Content = new V1.Content { Type = V1.ContentType.Text, Text = $"message {seq}" },
    };

    /// <summary>
    /// Connects the client to an edge played on the listener's next connection that records sends without acking them,
    /// and sends one message, which that edge has received when this returns: the send waits for an ack that is not coming.
    /// </summary>
    private static async Task<(RawConnection Connection, Task Served, Task<SendAckOrFailure> Sending)> SendUnackedAsync(Listener edge, ImClient client, string clientMsgId)
    {
        var connecting = client.ConnectAsync();
        var played = new PlayedEdge { AnswerSends = false };
        var connection = await edge.AcceptAsync();
        var served = played.ServeAsync(connection, Patience);
        await connecting.WaitAsync(Patience);
        var sending = Outcome(client.SendTextAsync("p2p:alice:bob", "hello", clientMsgId));
        Assert.Equal(1, await Eventually.ReturnsAsync(() => Task.FromResult(played.Sends.Count), n => n == 1, Patience));
        return (connection, served, sending);
    }

    private sealed record SendAckOrFailure(V1.SendAck? Ack, Exception Failure);

    private static async Task<SendAckOrFailure> Outcome(Task task)
    {
        try
        {
            await task;
            return new SendAckOrFailure(null, new InvalidOperationException("it succeeded"));
        }
        catch (Exception ex)
        {
            return new SendAckOrFailure(null, ex);
        }
    }

    private static async Task<SendAckOrFailure> Outcome(Task<V1.SendAck> send)
    {
        try
        {
            return new SendAckOrFailure(await send, new InvalidOperationException("the send was acked"));
        }
        catch (Exception ex)
        {
            return new SendAckOrFailure(null, ex);
        }
    }

    /// <summary>A loopback port where the test plays an edge: each accepted connection is one the client opened.</summary>
    private sealed class Listener : IDisposable
    {
        // A loopback address of its own, not 127.0.0.1: while tests run at once, a reconnecting client of another test
        // could otherwise reach this listener through a port its edge had, and be counted as this test's client.
        private readonly TcpListener _listener = new(new IPAddress([127, 0, 42, (byte)Random.Shared.Next(1, 255)]), 0);

        public Listener() => _listener.Start();

        public string Host => ((IPEndPoint)_listener.LocalEndpoint).Address.ToString();

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        /// <summary>Whether a connection waits to be accepted.</summary>
        public bool Pending() => _listener.Pending();

        public async Task<RawConnection> AcceptAsync() => RawConnection.Accepted(await _listener.AcceptTcpClientAsync().WaitAsync(Patience));

        /// <summary>The next connection; null once <paramref name="stop"/> is cancelled.</summary>
        public async Task<TcpClient?> AcceptOrStopAsync(CancellationToken stop)
        {
            try
            {
                return await _listener.AcceptTcpClientAsync(stop);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        public void Dispose() => _listener.Stop();
    }

    /// <summary>
    /// Connects <paramref name="client"/> to <paramref name="draining"/>, then loses the connection without a word (the
    /// network, or a heartbeat that failed before a redirect was read): the client knows no other address, so it comes
    /// back to the edge it lost. That edge is draining now: it answers the new connection with a redirect to <paramref
    /// name="target"/>, closes it, and exits.
    /// </summary>
    private static async Task LoseAndRedirectAsync(ImClient client, Listener draining, Listener target)
    {
        var connecting = client.ConnectAsync();
        await using (var first = await draining.AcceptAsync())
        {
            var served = new PlayedEdge().ServeAsync(first, Patience);
            await connecting.WaitAsync(Patience);
            first.Socket.Shutdown(SocketShutdown.Both);
            await served.WaitAsync(Patience);
        }

        await using (var second = await draining.AcceptAsync())
        {
            await second.SendAsync(V1.Op.Redirect, 0, new V1.Redirect { Addresses = { $"{target.Host}:{target.Port}" }, Reason = "draining" });
            second.Socket.Shutdown(SocketShutdown.Both);
        }

        draining.Dispose();
    }

    /// <summary>
    /// Serves every connection to <paramref name="target"/> and checks that the client gets there: its second login, after
    /// one redirect.
    /// </summary>
    private static async Task ConnectsWhereTheRedirectSaidAsync(ImClient client, Listener target)
    {
        await using var serving = new Serving(target);
        var status = await Eventually.ReturnsAsync(() => Task.FromResult(client.Status), s => s == ImClientStatus.Connected, Patience);

        Assert.Equal((ImClientStatus.Connected, 2, 1), (status, client.ConnectionCount, client.RedirectCount));
        Assert.Equal($"{target.Host}:{target.Port}", client.Endpoint);
        await client.DisposeAsync();
    }

    /// <summary>
    /// An edge that serves every connection it accepts as a <see cref="PlayedEdge"/> until disposed: a client whose first
    /// login there went unanswered (the machine slow for a moment, or another test's client accepted first) is served on
    /// its next attempt.
    /// </summary>
    private sealed class Serving : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentBag<Task> _served = [];
        private readonly Task _loop;

        public Serving(Listener listener) => _loop = LoopAsync(listener);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop.WaitAsync(Patience);
            await Task.WhenAll(_served).WaitAsync(Patience);
            _stop.Dispose();
        }

        private async Task LoopAsync(Listener listener)
        {
            while (await listener.AcceptOrStopAsync(_stop.Token) is { } accepted)
            {
                _served.Add(ServeAsync(RawConnection.Accepted(accepted)));
            }
        }

        private async Task ServeAsync(RawConnection connection)
        {
            await using (connection)
            {
                try
                {
                    await new PlayedEdge().ServeAsync(connection, Patience).WaitAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // Silent for the patience (not a client of this test), or the test is over.
                }
            }
        }
    }

    [Fact]
    public async Task A_token_provider_that_never_answers_fails_the_attempt_in_time_and_the_next_one_connects()
    {
        using var edge = new Listener();
        var asked = 0;
        var hung = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The first ask hangs and ignores its token (an identity server that never answers, a client without a timeout).
        await using var client = NewClient(edge, maxReconnectAttempts: 0, tokenTimeout: TimeSpan.FromMilliseconds(300),
            tokenProvider: _ => Interlocked.Increment(ref asked) == 1 ? hung.Task : Task.FromResult("token"));

        var failed = await Assert.ThrowsAsync<ImClientException>(() => client.ConnectAsync().WaitAsync(Patience));
        Assert.Contains("token provider did not answer", failed.Message, StringComparison.Ordinal);
        Assert.Equal(ImClientStatus.Disconnected, client.Status);

        // The connect gate was not kept by the hung provider: the next attempt asks again and logs in.
        var (connection, served) = await ConnectToAsync(client, edge, new PlayedEdge());
        await using (connection)
        {
            Assert.Equal(ImClientStatus.Connected, client.Status);
            Assert.Equal(2, Volatile.Read(ref asked));
        }

        hung.SetResult("too late");
        await client.DisposeAsync();
        await served.WaitAsync(Patience);
    }

    /// <summary>A pull's answer from a conversation whose messages are 1 to <paramref name="lastSeq"/>: those after the request's.</summary>
    private static V1.PullResponse PulledUpTo(V1.PullRequest pull, int lastSeq) => new()
    {
        ConversationId = pull.ConversationId,
        Messages = { Enumerable.Range((int)pull.AfterSeq + 1, Math.Max(0, lastSeq - (int)pull.AfterSeq)).Select(seq => Text(pull.ConversationId, seq)) },
        LastSeq = lastSeq,
    };

    /// <summary>Connects <paramref name="client"/> to <paramref name="played"/>: the connection, and its serving to await at the end.</summary>
    private static async Task<(RawConnection Connection, Task Served)> ConnectToAsync(ImClient client, Listener edge, PlayedEdge played)
    {
        var connecting = client.ConnectAsync();
        var connection = await edge.AcceptAsync();
        var served = played.ServeAsync(connection, Patience);
        await connecting.WaitAsync(Patience);
        return (connection, served);
    }

    /// <summary>The next <paramref name="count"/> messages <paramref name="client"/> delivers, as conversation and seq.</summary>
    private static async Task<List<(string Conversation, long Seq)>> DeliveredAsync(ImClient client, int count)
    {
        var delivered = new List<(string, long)>();
        while (delivered.Count < count)
        {
            var message = await client.Messages.ReadAsync().AsTask().WaitAsync(Patience);
            delivered.Add((message.ConversationId, message.Seq));
        }

        return delivered;
    }

    private static ImClient NewClient(Listener edge, int maxReconnectAttempts, TimeSpan? requestTimeout = null, Func<CancellationToken, Task<string>>? tokenProvider = null, string deviceId = "phone", ImClientState? initialState = null, Listener? fallback = null, Func<string, CancellationToken, Task>? tokenRefused = null, TimeSpan? tokenTimeout = null, TimeSpan? reconnectBaseDelay = null) => new(new ImClientOptions
    {
        TokenRefused = tokenRefused,
        TokenTimeout = tokenTimeout ?? TimeSpan.FromSeconds(30),
        FallbackAddresses = fallback is null ? [] : [$"{fallback.Host}:{fallback.Port}"],
        InitialState = initialState,
        Host = edge.Host,
        Port = edge.Port,
        TokenProvider = tokenProvider ?? (_ => Task.FromResult("token")),
        DeviceId = deviceId,
        Platform = "test",
        HeartbeatInterval = TimeSpan.FromMilliseconds(200),
        CatchUpInterval = TimeSpan.Zero,
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(5),
        ReconnectBaseDelay = reconnectBaseDelay ?? TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = reconnectBaseDelay is { } slow && slow > TimeSpan.FromMilliseconds(200) ? slow : TimeSpan.FromMilliseconds(200),
        MaxReconnectAttempts = maxReconnectAttempts,
    });

    /// <summary>
    /// An edge that accepts every connection and closes it once it has read its login, counting the logins of each device.
    /// A test asserts how many attempts its own clients made, so a connection that is not a login (another test's client
    /// still reconnecting to an address this listener now has, say) is counted apart.
    /// </summary>
    private sealed class Refusal : IDisposable
    {
        private static readonly TimeSpan LoginWait = TimeSpan.FromSeconds(5);
        private readonly CancellationTokenSource _stop = new(Patience);
        private readonly ConcurrentDictionary<string, int> _logins = new();
        private readonly List<Task> _refusals = [];
        private readonly Task _loop;
        private int _others;

        public Refusal(Listener listener) => _loop = LoopAsync(listener);

        /// <summary>Connections accepted that did not log in (closed all the same).</summary>
        public int Others => Volatile.Read(ref _others);

        /// <summary>The logins of <paramref name="deviceId"/> refused so far.</summary>
        public int LoginsOf(string deviceId) => _logins.GetValueOrDefault(deviceId);

        /// <summary>
        /// Stops once <paramref name="expected"/> logins of <paramref name="deviceId"/> were refused (or the patience ran
        /// out); the logins refused per device. A client can give up on an attempt before this side has accepted it (the
        /// connection waits in the listen backlog), so its failure does not mean the count is complete yet.
        /// </summary>
        public async Task<IReadOnlyDictionary<string, int>> StopAfterAsync(string deviceId, int expected)
        {
            await Eventually.UntilAsync(() => Task.FromResult(LoginsOf(deviceId)), n => n >= expected);
            await _stop.CancelAsync();
            await _loop.WaitAsync(Patience);
            await Task.WhenAll(_refusals).WaitAsync(Patience);
            return new Dictionary<string, int>(_logins);
        }

        public void Dispose() => _stop.Dispose();

        private async Task LoopAsync(Listener listener)
        {
            while (await listener.AcceptOrStopAsync(_stop.Token) is { } accepted)
            {
                _refusals.Add(RefuseAsync(RawConnection.Accepted(accepted)));
            }
        }

        private async Task RefuseAsync(RawConnection connection)
        {
            await using (connection)
            {
                string? deviceId = null;
                try
                {
                    if (await connection.ReadFrameAsync(LoginWait) is { Op: V1.Op.Login } login)
                    {
                        deviceId = V1.LoginRequest.Parser.ParseFrom(login.Body).DeviceId;
                    }
                }
                catch (Exception)
                {
                    // Closed, silent or garbage: not a login.
                }

                if (deviceId is null)
                {
                    Interlocked.Increment(ref _others);
                }
                else
                {
                    _logins.AddOrUpdate(deviceId, 1, (_, n) => n + 1);
                }
            }
        }
    }

    private static Refusal RefuseAll(Listener listener) => new(listener);
}

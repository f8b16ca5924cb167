using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.OfflinePush;

/// <summary>
/// A silo that stops hands its grains over first, and they go on working meanwhile (a message that reaches an offline
/// user then still notifies their phone): offline push must take what they notify until they are gone, and send it.
/// A cluster of the test's own, because the test stops its silo.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class PushOnSiloStopTests
{
    [Fact]
    public async Task A_notification_made_while_the_stopping_silo_deactivates_its_grains_is_sent()
    {
        var notifyingGrain = new NotifiesWhileGrainsDeactivate();
        var fixture = new ClusterFixture(silo =>
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(services =>
                notifyingGrain.With(services.GetRequiredService<IOfflineNotifier>())));
        await fixture.InitializeAsync();
        try
        {
            var (bob, login) = await PushGatewayClientTests.SignedInAsync(fixture);
            var now = fixture.Time.GetUtcNow();
            notifyingGrain.Notification = new OfflineNotification(bob, "phone", "apns", "token-phone", login.SessionId, $"p2p:{bob}:zed",
                Orleans.Im.Conversations.ConversationKind.P2P, 1, "zed", ContentType.Text, "sent as the silo stopped", 1, false, null, now);

            await fixture.Cluster.StopSiloAsync(fixture.Cluster.Silos[0]);

            Assert.True(notifyingGrain.Notified);
            Assert.Equal("sent as the silo stopped", Assert.Single(fixture.PushGateway.For(bob)).GetProperty("preview").GetString());
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    /// <summary>Stands for a grain that, while the stopping silo deactivates its grains, notifies an offline phone.</summary>
    private sealed class NotifiesWhileGrainsDeactivate : ILifecycleParticipant<ISiloLifecycle>
    {
        private IOfflineNotifier? _notifier;

        public OfflineNotification? Notification { get; set; }

        public bool Notified { get; private set; }

        public NotifiesWhileGrainsDeactivate With(IOfflineNotifier notifier)
        {
            _notifier = notifier;
            return this;
        }

        public void Participate(ISiloLifecycle lifecycle) =>
            lifecycle.Subscribe(nameof(NotifiesWhileGrainsDeactivate), ServiceLifecycleStage.BecomeActive, _ => Task.CompletedTask, _ =>
            {
                if (Notification is not null)
                {
                    _notifier!.Enqueue(Notification);
                    Notified = true;
                }

                return Task.CompletedTask;
            });
    }
}

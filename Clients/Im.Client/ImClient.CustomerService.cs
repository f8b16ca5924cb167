using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Client;

// Customer service: what an agent console and a user's app need besides messaging, which goes through SendAsync,
// PullAsync and SyncAsync on cs:{shop}:{user} conversations like any other.
public sealed partial class ImClient
{
    /// <summary>As an agent of <paramref name="shopId"/>: take sessions (while connected) or stop; stopping hands the agent's sessions back to the queue.</summary>
    public Task SetAgentAvailableAsync(string shopId, bool available, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.CsSetAvailable, new CsSetAvailableRequest { ShopId = shopId, Available = available }, cancellationToken);

    /// <summary>As an agent of <paramref name="shopId"/>: own state, the queue length and own sessions. Throws (not found) for a non-agent.</summary>
    public async Task<CsAgentView> GetAgentViewAsync(string shopId, CancellationToken cancellationToken = default)
    {
        var view = CsAgentView.Parser.ParseFrom(await RequestAsync(Op.CsAgentView, new CsAgentViewRequest { ShopId = shopId }, Op.CsAgentViewOk, cancellationToken).ConfigureAwait(false));
        return view.Error is null ? view : throw new ImClientException(view.Error);
    }

    /// <summary>As an agent: hands the user's session to another agent, or back to the head of the queue when <paramref name="toAgentId"/> is null.</summary>
    public Task TransferSessionAsync(string shopId, string userId, string? toAgentId, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.CsTransfer, new CsTransferRequest { ShopId = shopId, UserId = userId, ToAgentId = toAgentId ?? "" }, cancellationToken);

    /// <summary>
    /// As <see cref="TransferSessionAsync(string, string, string?, CancellationToken)"/>, only session
    /// <paramref name="sessionId"/> (<see cref="CsSession.SessionId"/>): throws (not found) once it has closed, even when
    /// the user has opened another since. A null <paramref name="sessionId"/> means whichever session is open.
    /// </summary>
    public Task TransferSessionAsync(string shopId, string userId, string? toAgentId, string? sessionId, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.CsTransfer, new CsTransferRequest { ShopId = shopId, UserId = userId, ToAgentId = toAgentId ?? "", SessionId = sessionId ?? "" }, cancellationToken);

    /// <summary>As an agent: closes the user's session; the user is told and may rate it.</summary>
    public Task CloseSessionAsync(string shopId, string userId, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.CsClose, new CsCloseRequest { ShopId = shopId, UserId = userId }, cancellationToken);

    /// <summary>
    /// As <see cref="CloseSessionAsync(string, string, CancellationToken)"/>, only session <paramref name="sessionId"/>
    /// (<see cref="CsSession.SessionId"/>): throws (not found) once it has closed, so that a close meant for a session
    /// that closed as idle does not close the one the user opened since. A null <paramref name="sessionId"/> means
    /// whichever session is open.
    /// </summary>
    public Task CloseSessionAsync(string shopId, string userId, string? sessionId, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.CsClose, new CsCloseRequest { ShopId = shopId, UserId = userId, SessionId = sessionId ?? "" }, cancellationToken);

    /// <summary>As a user: rates the last closed session with the shop, 1 to 5, once.</summary>
    public Task RateSessionAsync(string shopId, int score, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.CsRate, new CsRateRequest { ShopId = shopId, Score = (uint)Math.Max(score, 0) }, cancellationToken);
}

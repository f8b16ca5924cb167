using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Events;
using Orleans.Im.Messages;
using Orleans.Im.Webhooks;

namespace Orleans.Im.EdgeHost.Api;

/// <summary><c>/api/admin/webhooks</c> (API key): register, list and remove the HTTP endpoints that receive firehose events.</summary>
public static class WebhooksApi
{
    private const int ShownSecretChars = 4;

    public static RouteGroupBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/admin/webhooks").RequireAuthorization(ApiPolicies.TrustedSystem).WithTags("Webhooks");
        api.MapPost("/", RegisterAsync);
        api.MapGet("/", async (IClusterClient cluster) =>
            TypedResults.Ok((await Registry(cluster).ListAsync()).Select(w => View(w, showSecret: false)).ToArray()));
        api.MapDelete("/{id}", async Task<Results<NoContent, ProblemHttpResult>> (string id, IClusterClient cluster) =>
            await Registry(cluster).RemoveAsync(id)
                ? TypedResults.NoContent()
                : ApiProblems.Problem(StatusCodes.Status404NotFound, "not_found", "No such webhook."));
        return api;
    }

    private static async Task<Results<Created<WebhookView>, ProblemHttpResult>> RegisterAsync(WebhookBody body, IClusterClient cluster)
    {
        ArgumentNullException.ThrowIfNull(body);
        var classes = new List<EventClass>();
        foreach (var name in body.Classes ?? [])
        {
            if (!FirehoseStreams.TryParse(name, out var eventClass))
            {
                return ApiProblems.Invalid($"unknown event class '{name}'; known: {string.Join(", ", FirehoseStreams.Classes.Select(FirehoseStreams.NameOf))}");
            }

            classes.Add(eventClass);
        }

        var result = await Registry(cluster).RegisterAsync(body.Url, [.. classes], body.Secret, body.Description);
        return result.Status == AccessStatus.Ok
            ? TypedResults.Created($"/api/admin/webhooks/{result.Registration!.Id}", View(result.Registration, showSecret: true))
            : result.Status switch
            {
                AccessStatus.Invalid => ApiProblems.Invalid(result.Error ?? "invalid webhook"),
                // The registry's limit: said, not a bare "not allowed".
                AccessStatus.NotAllowed when result.Error is not null => ApiProblems.Problem(StatusCodes.Status403Forbidden, "not_allowed", result.Error),
                _ => ApiProblems.From(result.Status),
            };
    }

    private static IWebhookRegistryGrain Registry(IClusterClient cluster) => cluster.For<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey);

    private static WebhookView View(WebhookRegistration w, bool showSecret) => new(w.Id, w.Url, [.. w.Classes.Select(FirehoseStreams.NameOf)],
        showSecret ? w.Secret : "…" + w.Secret[^ShownSecretChars..], w.CreatedAt, w.Description);
}

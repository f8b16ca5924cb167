using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Operations;

/// <summary>
/// The production files in <c>deploy/</c>: the compose file validates with Debian's docker-compose, the Kubernetes
/// manifests parse strictly into the official API models and agree with each other and with the edge drain, the
/// Dockerfiles' publish step produces runnable hosts, and the Grafana dashboard asks only for metrics that exist.
/// </summary>
[Trait("Category", "Deploy")]
public sealed partial class DeploymentFilesTests
{
    private static readonly string Deploy = Path.Combine(RepositoryPaths.Root, "deploy");
    private static readonly string[] HostSourceFolders = ["EdgeHost", "Silo", "Grains.Interfaces"];
    private static readonly string ComposeFile = Path.Combine(Deploy, "compose", "compose.yaml");

    /// <summary>What compose needs from its .env; placeholders, as a validation run never starts anything.</summary>
    private static readonly Dictionary<string, string> ComposeVariables = new()
    {
        ["IM_SIGNING_KEY"] = "validation-only",
        ["IM_ADMIN_API_KEY"] = "validation-only",
        ["IM_POSTGRES_PASSWORD"] = "validation-only",
    };

    [Fact]
    public void Each_compose_edge_is_told_by_a_balancer_port_of_its_own_and_nginx_passes_the_host_with_its_port()
    {
        var compose = File.ReadAllText(ComposeFile);
        var nginx = File.ReadAllText(Path.Combine(Deploy, "compose", "nginx", "nginx.conf"));
        foreach (var edge in new[] { "edge-1", "edge-2" })
        {
            // A drain's redirect names the other edges' addresses: the balancer's port for all would send clients back.
            var section = compose[compose.IndexOf($"\n  {edge}:\n", StringComparison.Ordinal)..];
            var port = Regex.Match(section, @"IM__Edge__PublicTcpAddresses__0: \$\{IM_PUBLIC_TCP_HOST:-localhost\}:(\d+)").Groups[1].Value;
            Assert.NotEqual("", port);
            var upstream = Regex.Match(nginx, $@"listen {port}\b[^;]*;\s*proxy_pass (\w+);").Groups[1].Value;
            Assert.Matches($@"upstream {upstream} \{{[^}}]*server {edge}:5090 resolve;[^}}]*\}}", nginx);
            Assert.Contains($"\"{port}:{port}\"", compose, StringComparison.Ordinal);
        }

        // The edge allows a hub connection whose Origin is the host it was asked for: $host drops the port (8443).
        Assert.DoesNotContain("proxy_set_header Host $host;", nginx, StringComparison.Ordinal);
        Assert.Contains("proxy_set_header Host $http_host;", nginx, StringComparison.Ordinal);
    }

    [Fact]
    public void No_balancer_logs_the_query_string_which_carries_the_web_pages_access_token()
    {
        // nginx (compose): every request is logged in a format with the path only.
        var nginx = File.ReadAllText(Path.Combine(Deploy, "compose", "nginx", "nginx.conf"));
        var format = Regex.Match(nginx, @"log_format (\w+) ([^;]*);");
        Assert.True(format.Success, "nginx.conf names its own log format");
        foreach (var whole in new[] { "$request ", "$request\"", "$request_uri", "$args", "$query_string", "$arg_" })
        {
            Assert.DoesNotContain(whole, format.Groups[2].Value, StringComparison.Ordinal);
        }

        Assert.Matches($@"\n    access_log \S+ {format.Groups[1].Value};", nginx);

        // ingress-nginx (Kubernetes): the hub path has an ingress of its own that is not logged.
        var ingresses = KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(Deploy, "k8s", "edge.yaml")), strict: true).OfType<V1Ingress>();
        var hubs = Assert.Single(ingresses, i => i.Spec.Rules.Any(r => r.Http.Paths.Any(p => p.Path == "/hubs/")));
        Assert.Equal("false", hubs.Metadata.Annotations["nginx.ingress.kubernetes.io/enable-access-log"]);
    }

    [Fact]
    public async Task The_compose_file_validates_with_docker_compose()
    {
        var (status, output) = await RunAsync("docker-compose", ["-f", ComposeFile, "config", "-q"], ComposeVariables);

        Assert.True(status == 0, output);
    }

    [Fact]
    public async Task Docker_compose_rejects_an_unknown_option_so_the_validation_means_something()
    {
        var broken = Path.Combine(Path.GetTempPath(), $"compose-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(broken, (await File.ReadAllTextAsync(ComposeFile)).Replace("stop_grace_period:", "stop_grace_periodd:", StringComparison.Ordinal));
        try
        {
            var (status, output) = await RunAsync("docker-compose", ["-f", broken, "config", "-q"], ComposeVariables);

            Assert.NotEqual(0, status);
            Assert.Contains("stop_grace_periodd", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [Fact]
    public async Task The_compose_file_names_every_host_and_needs_its_secrets()
    {
        var (status, output) = await RunAsync("docker-compose", ["-f", ComposeFile, "config", "--services"], ComposeVariables);
        Assert.True(status == 0, output);
        Assert.Equal(["edge-1", "edge-2", "nginx", "postgres", "redis", "silo-1", "silo-2"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order());

        // Without the keys it refuses, rather than starting edge hosts that cannot sign tokens.
        var (missing, _) = await RunAsync("docker-compose", ["-f", ComposeFile, "config", "-q"], new Dictionary<string, string>());
        Assert.NotEqual(0, missing);
    }

    [Fact]
    public void The_kubernetes_manifests_parse_strictly_and_hang_together()
    {
        var objects = LoadManifests();
        var deployments = objects.OfType<V1Deployment>().ToDictionary(d => d.Metadata.Name);
        var config = Assert.Single(objects.OfType<V1ConfigMap>());
        // The Secret is an example outside the applied set: `kubectl apply -f deploy/k8s/` must not overwrite the real one.
        Assert.Empty(objects.OfType<V1Secret>());
        var secret = Assert.IsType<V1Secret>(Assert.Single(KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(Deploy, "k8s", "secret.yaml.example")), strict: true)));
        Assert.Equal(["edge", "silo"], deployments.Keys.Order());

        foreach (var deployment in deployments.Values)
        {
            var pod = deployment.Spec.Template;
            Assert.True(Matches(deployment.Spec.Selector.MatchLabels, pod.Metadata.Labels), $"{deployment.Metadata.Name}: the selector does not select its pods");
            var container = Assert.Single(pod.Spec.Containers);
            Assert.False(string.IsNullOrEmpty(container.Image));
            var ports = container.Ports.Select(p => p.Name).ToHashSet();
            foreach (var probe in new[] { container.StartupProbe, container.ReadinessProbe, container.LivenessProbe })
            {
                Assert.NotNull(probe);
                Assert.Contains(probe.HttpGet.Port.Value, ports);
            }

            Assert.All(container.EnvFrom, source => Assert.True(
                source.ConfigMapRef?.Name == config.Metadata.Name || source.SecretRef?.Name == secret.Metadata.Name,
                $"{deployment.Metadata.Name} reads a ConfigMap or Secret that is not in deploy/k8s"));
            Assert.True(pod.Spec.SecurityContext.RunAsNonRoot);
            Assert.Equal(0, deployment.Spec.Strategy.RollingUpdate.MaxUnavailable.Value == "0" ? 0 : int.Parse(deployment.Spec.Strategy.RollingUpdate.MaxUnavailable.Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Contains(objects.OfType<V1PodDisruptionBudget>(), pdb => Matches(pdb.Spec.Selector.MatchLabels, pod.Metadata.Labels));
        }

        foreach (var service in objects.OfType<V1Service>())
        {
            var target = Assert.Single(deployments.Values, d => Matches(service.Spec.Selector, d.Spec.Template.Metadata.Labels));
            var named = target.Spec.Template.Spec.Containers.SelectMany(c => c.Ports).Select(p => p.Name).ToHashSet();
            Assert.All(service.Spec.Ports, port => Assert.Contains(port.TargetPort.Value, named));
        }

        var ingresses = objects.OfType<V1Ingress>().ToList();
        Assert.NotEmpty(ingresses);
        var backends = ingresses.SelectMany(i => i.Spec.Rules).SelectMany(r => r.Http.Paths).Select(p => p.Backend.Service.Name);
        Assert.All(backends, name => Assert.Contains(objects.OfType<V1Service>(), s => s.Metadata.Name == name));
        Assert.Equal("LoadBalancer", Assert.Single(objects.OfType<V1Service>(), s => s.Metadata.Name == "edge-tcp").Spec.Type);

        // Silos advertise the pod IP, from the downward API.
        var silo = deployments["silo"].Spec.Template.Spec.Containers[0];
        Assert.Equal("status.podIP", silo.Env.Single(e => e.Name == "POD_IP").ValueFrom.FieldRef.FieldPath);
        Assert.Equal("$(POD_IP)", silo.Env.Single(e => e.Name == "IM__Silo__AdvertisedIPAddress").Value);
    }

    [Fact]
    public void The_edges_internal_port_is_scraped_and_published_by_no_ingress_or_balancer()
    {
        var objects = LoadManifests();
        var config = Assert.Single(objects.OfType<V1ConfigMap>()).Data;
        var internalPort = new Uri(config["IM__Edge__InternalHttpUrl"]).Port;
        var pod = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "edge").Spec.Template;
        var internalName = Assert.Single(pod.Spec.Containers[0].Ports, p => p.ContainerPort == internalPort).Name;
        Assert.Equal(internalPort.ToString(System.Globalization.CultureInfo.InvariantCulture), pod.Metadata.Annotations["prometheus.io/port"]);

        // Snippet annotations are refused by ingress-nginx 1.9+ (and were the only thing keeping /metrics in).
        var ingresses = objects.OfType<V1Ingress>().ToList();
        Assert.All(ingresses, ingress =>
            Assert.DoesNotContain(ingress.Metadata.Annotations ?? new Dictionary<string, string>(), a => a.Key.Contains("snippet", StringComparison.Ordinal)));
        var published = objects.OfType<V1Service>()
            .Where(s => s.Spec.Type == "LoadBalancer"
                || ingresses.SelectMany(i => i.Spec.Rules).SelectMany(r => r.Http.Paths).Any(p => p.Backend.Service.Name == s.Metadata.Name))
            .ToList();
        Assert.NotEmpty(published);
        Assert.All(published.SelectMany(s => s.Spec.Ports), port =>
            Assert.True(port.TargetPort.Value != internalName && port.TargetPort.Value != internalPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"the internal port is published as {port.Name}"));
    }

    [Fact]
    public void The_namespace_is_applied_first_and_the_example_secret_is_not_applied()
    {
        // kubectl apply -f on a folder takes *.yaml, *.yml and *.json in file-name order.
        var applied = Directory.GetFiles(Path.Combine(Deploy, "k8s"))
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.IsType<V1Namespace>(Assert.Single(KubernetesYaml.LoadAllFromString(File.ReadAllText(applied[0]), strict: true)));
        Assert.DoesNotContain(applied, f => File.ReadAllText(f).Contains("kind: Secret", StringComparison.Ordinal));

        // The example's placeholder admin key is one an edge refuses to start with.
        var example = Assert.IsType<V1Secret>(Assert.Single(KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(Deploy, "k8s", "secret.yaml.example")), strict: true)));
        Assert.True(example.StringData["IM__Auth__AdminApiKey"].Length < Orleans.Im.EdgeHost.Auth.AuthOptions.MinAdminApiKeyLength);
    }

    [Fact]
    public void Edge_termination_matches_the_drain()
    {
        var objects = LoadManifests();
        var config = Assert.Single(objects.OfType<V1ConfigMap>()).Data;
        var edge = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "edge").Spec.Template.Spec;
        var window = TimeSpan.Parse(config["IM__Edge__DrainWindow"], System.Globalization.CultureInfo.InvariantCulture);
        var timeout = TimeSpan.Parse(config["IM__Edge__DrainTimeout"], System.Globalization.CultureInfo.InvariantCulture);

        // SIGTERM drains first, then stops the host, whose shutdown timeout (the drain plus 15 s, EdgeHosting) counts from
        // the stop: the kubelet must not kill it before both are over.
        Assert.True(edge.TerminationGracePeriodSeconds >= (window + timeout + (window + timeout + TimeSpan.FromSeconds(15))).TotalSeconds,
            $"terminationGracePeriodSeconds {edge.TerminationGracePeriodSeconds}");
        var container = edge.Containers[0];
        Assert.Equal("/readyz", container.ReadinessProbe.HttpGet.Path); // 503 from the first moment of the drain
        Assert.Equal("/livez", container.LivenessProbe.HttpGet.Path); // stays 200 while draining, and while the cluster is down
        // The probes that ask the cluster allow more than the edge waits for it before answering 503.
        foreach (var probe in new[] { container.StartupProbe, container.ReadinessProbe })
        {
            Assert.True(probe.TimeoutSeconds > Orleans.Im.EdgeHost.Health.HealthApi.ProbeTimeout.TotalSeconds, $"{probe.HttpGet.Path}: timeoutSeconds {probe.TimeoutSeconds}");
        }
        Assert.Null(container.Lifecycle?.PreStop); // the drain starts on SIGTERM itself; a preStop hook would only delay it
    }

    [Fact]
    public void A_wrong_field_in_a_manifest_is_rejected()
    {
        var text = File.ReadAllText(Path.Combine(Deploy, "k8s", "edge.yaml"));

        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(text.Replace("containerPort:", "containerPorts:", StringComparison.Ordinal), strict: true));
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(text.Replace("replicas: 3", "replicas: three", StringComparison.Ordinal), strict: true));
    }

    [Fact]
    public async Task The_dockerfiles_publish_step_produces_runnable_hosts()
    {
        var output = Path.Combine(Path.GetTempPath(), $"publish-{Guid.NewGuid():N}");
        try
        {
            foreach (var project in new[] { "Silo", "EdgeHost" })
            {
                var dockerfile = await File.ReadAllTextAsync(Path.Combine(Deploy, "docker", project + ".Dockerfile"));
                Assert.Contains($"RUN deploy/docker/publish.sh {project} /app", dockerfile, StringComparison.Ordinal);
                Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{project}.dll\"]", dockerfile, StringComparison.Ordinal);
                Assert.Contains("USER $APP_UID", dockerfile, StringComparison.Ordinal);
                Assert.Contains("HEALTHCHECK", dockerfile, StringComparison.Ordinal);

                // The same command, outside Docker; under deploy/test.sh the Release build is reused.
                var target = Path.Combine(output, project);
                string[] arguments = RepositoryPaths.Configuration == "Release" ? [project, target, "--no-build"] : [project, target];
                var (status, log) = await RunAsync(Path.Combine(Deploy, "docker", "publish.sh"), arguments, new Dictionary<string, string>());
                Assert.True(status == 0, log);
                Assert.True(File.Exists(Path.Combine(target, project + ".dll")));
                Assert.True(File.Exists(Path.Combine(target, project + ".runtimeconfig.json")));
                Assert.True(File.Exists(Path.Combine(target, "appsettings.json")));
            }

            Assert.True(File.Exists(Path.Combine(output, "EdgeHost", "wwwroot", "index.html")));
            Assert.True(File.Exists(Path.Combine(output, "EdgeHost", "wwwroot", "lib", "signalr.min.js")));
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    [Fact]
    public void The_grafana_dashboard_asks_only_for_metrics_the_hosts_export()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "grafana", "orleans-im.json")));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();
        var source = string.Join('\n', HostSourceFolders
            .SelectMany(folder => Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Root, folder), "*.cs", SearchOption.AllDirectories))
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText));

        Assert.NotEmpty(expressions);
        var names = expressions.SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).Distinct().ToList();
        Assert.True(names.Count >= 10);
        foreach (var name in names)
        {
            var family = Regex.Replace(name, "_(bucket|sum|count)$", "");
            Assert.True(source.Contains($"\"{family}\"", StringComparison.Ordinal), $"the dashboard asks for {name}, which no host exports");
        }
    }

    private static List<IKubernetesObject> LoadManifests()
    {
        var files = Directory.GetFiles(Path.Combine(Deploy, "k8s"), "*.yaml");
        Assert.NotEmpty(files);
        var objects = new List<IKubernetesObject>();
        foreach (var file in files)
        {
            // Strict: an unknown field anywhere fails, as the API server's strict field validation would.
            foreach (var item in KubernetesYaml.LoadAllFromString(File.ReadAllText(file), strict: true))
            {
                var typed = Assert.IsAssignableFrom<IKubernetesObject>(item);
                objects.Add(typed);
            }
        }

        return objects;
    }

    private static bool Matches(IDictionary<string, string> selector, IDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value);

    private static async Task<(int Status, string Output)> RunAsync(string file, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = RepositoryPaths.Root };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // Only what is given: compose must not pick up a developer's own IM_* variables or .env.
        foreach (var key in ComposeVariables.Keys)
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"\b(im|process|dotnet)_[a-z_]+\b")]
    private static partial Regex MetricName();
}

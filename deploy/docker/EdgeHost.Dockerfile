# The EdgeHost image. Build from the repository root:
#   docker build -f deploy/docker/EdgeHost.Dockerfile -t orleans-im/edgehost .
# Multi-stage: the SDK stage publishes with deploy/docker/publish.sh (the same command the test suite runs), the runtime
# stage holds only the ASP.NET Core runtime and the published files, and runs as the image's non-root user.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0

FROM ${SDK_IMAGE} AS build
# The web page's SignalR client comes from the npm registry at build time.
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN deploy/docker/publish.sh EdgeHost /app

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /app .
# Containers listen on every interface; the orchestrator decides what is reachable. IM__… settings override these.
# The workstation GC (the project's default) and at most two glibc malloc arenas: an edge host is sized by its memory
# per held connection, and thread-pool threads injected during stalls each kept an arena of their own (end of a
# 5-minute hold of 19,000 connections: 10.1-10.5 KB per connection with the default arenas, 9.7-9.8 with two;
# docs/BENCHMARKS.md). DOTNET_gcServer=1 and MALLOC_ARENA_MAX override them.
ENV MALLOC_ARENA_MAX=2 \
    IM__Logging__Json=true \
    IM__Edge__HttpUrl=http://0.0.0.0:5080 \
    IM__Edge__InternalHttpUrl=http://0.0.0.0:5081 \
    IM__Edge__TcpAddress=0.0.0.0 \
    IM__Edge__TcpPorts__0=5090
# 5080 public HTTP, 5081 internal HTTP (/metrics, /api/admin/…, /api/system/…; publish it to no balancer), 5090 TCP.
EXPOSE 5080 5081 5090
# The image's non-root user (uid 1654), created by the .NET runtime images.
USER $APP_UID
# No curl in the runtime image: bash's /dev/tcp asks /healthz and looks for a 200 status line.
# Informational (compose restarts on exit, not on health): /healthz waits up to 3 s for the cluster, so 5 s here.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# SIGTERM drains (clients redirected over IM__Edge__DrainWindow, then up to IM__Edge__DrainTimeout): give it time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "EdgeHost.dll"]

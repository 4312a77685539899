# Resync: multi-stage build. The runtime image holds only the virtual environment and the
# code, runs as an unprivileged user, reports liveness on /healthz (the HEALTHCHECK below)
# and readiness on /readyz (for load balancers and Kubernetes readiness probes).
#   docker build -t resync .
#   docker run --rm -p 8080:8080 --env-file .env --stop-timeout 30 resync   # RESYNC_TWS_URL
#   docker run --rm -p 8080:8080 resync resync serve --demo                 # bundled simulator
# `docker stop` sends SIGTERM: Resync drains (answers in progress finish, for up to 20 s)
# and exits 0; --stop-timeout must exceed that grace, or Docker kills it after 10 s.
# See docs/operations.md.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python -m venv /opt/resync
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY agents ./agents
COPY integrations ./integrations
COPY knowledge ./knowledge
COPY config ./config
RUN /opt/resync/bin/pip install --upgrade pip \
    && /opt/resync/bin/pip install .

FROM python:3.11-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="Resync" \
      org.opencontainers.image.description="Chat-ops for HCL Workload Automation (TWS)"
ENV PATH=/opt/resync/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    RESYNC_HOST=0.0.0.0 \
    RESYNC_PORT=8080 \
    RESYNC_DATA_DIR=/var/lib/resync \
    RESYNC_LOG_FORMAT=json
RUN groupadd --system --gid 10001 resync \
    && useradd --system --uid 10001 --gid resync --home-dir /var/lib/resync --shell /usr/sbin/nologin resync \
    && mkdir -p /var/lib/resync && chown resync:resync /var/lib/resync && chmod 0700 /var/lib/resync
COPY --from=build /opt/resync /opt/resync
USER resync:resync
WORKDIR /var/lib/resync
VOLUME ["/var/lib/resync"]
EXPOSE 8080
# Liveness, not readiness: an engine that is down makes Resync unready (/readyz 503), but
# restarting the container would not bring the engine back.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('RESYNC_PORT', '8080')}/healthz\", timeout=4).status == 200 else 1)"]
STOPSIGNAL SIGTERM
ENTRYPOINT []
CMD ["resync", "serve"]

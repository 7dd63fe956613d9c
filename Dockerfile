# syntax=docker/dockerfile:1
# The service image. It talks to real MongoDB through MONGODB_URI: the GPL-licensed embedded
# database (SecantusDB, the 'embedded' extra) is deliberately not installed, and no compiler,
# build backend or pip is left in the final stage.
ARG PYTHON_IMAGE=python:3.12.11-slim-bookworm

# Stage 1: build the project's wheel (hatchling is fetched here and stays here).
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY identity_store ./identity_store
COPY scim_facade ./scim_facade
COPY graphql_api ./graphql_api
COPY admin_console ./admin_console
COPY identity_service ./identity_service
COPY ssf_transmitter ./ssf_transmitter
COPY outbound ./outbound
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# Stage 2: the runtime, with the locked dependencies (every hash checked) and the wheel alone.
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/identity-store/bin:$PATH \
    IDENTITY_HOST=0.0.0.0 \
    IDENTITY_PORT=8000
RUN groupadd --system --gid 10001 identity \
    && useradd --system --uid 10001 --gid identity --no-create-home --shell /usr/sbin/nologin identity
# The wheel and the lock are bind-mounted for the install only, so neither stays in a layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements.lock,target=/tmp/requirements.lock \
    python -m venv /opt/identity-store \
    && /opt/identity-store/bin/pip install --no-cache-dir --require-hashes -r /tmp/requirements.lock \
    && /opt/identity-store/bin/pip install --no-cache-dir --no-deps /wheels/*.whl \
    && /opt/identity-store/bin/pip uninstall --yes pip \
    && python -m pip uninstall --yes pip
# Numeric, so an orchestrator's runAsNonRoot check can verify it without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000
# /healthz answers while the process lives; readiness (/readyz) is the orchestrator's business.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('IDENTITY_PORT', '8000')}/healthz\", timeout=2)"]
CMD ["identity-store", "serve"]

"""The service's configuration: the environment (``IDENTITY_*``, and ``MONGODB_URI``) as one model.

Every setting is documented in the README's "Configuration" section; the command line overrides
``data_dir``, ``host``, ``port`` and ``workers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from graphql_api.limits import DEFAULT_MAX_NODES
from identity_service.http_server import ServerLimits

__all__ = ["Settings", "server_limits"]


class Settings(BaseSettings):
    """Configuration from the environment (``IDENTITY_*``, and ``MONGODB_URI``)."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore")

    mongodb_uri: str | None = Field(
        default=None,
        validation_alias="MONGODB_URI",
        description="MongoDB to use; when unset, the embedded SecantusDB is started.",
    )
    database: str = "identity"
    database_unreachable_seconds: float = Field(
        default=1.0, gt=0, description="At most how long a request waits for a database it cannot reach before a 503."
    )
    database_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long one database command, and one write with its retries, may take."
    )
    data_dir: Path = Field(default=Path("data"), description="Where the embedded database keeps its data.")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(
        default=1, ge=1, description="Service processes ``serve`` runs on its one socket and one database."
    )
    event_numbering: Literal["auto", "transaction", "sequencer"] = Field(
        default="auto",
        description=(
            "Who numbers a write's events: its own transaction ('transaction': fewest commands, for "
            "one process writing a tenant), or a stamping round after it ('sequencer': the writes of "
            "several processes to one tenant share no document). 'auto': 'sequencer' when serve runs "
            "several workers on MongoDB. Every instance of a deployment should number the same way."
        ),
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        """``INFO`` as well as ``info``: operators write levels both ways."""
        return value.strip().casefold() if isinstance(value, str) else value

    scim_max_results: int = Field(default=200, description="Largest SCIM page (RFC 7644 §3.4.2.4 count).")
    scim_max_payload_size: int = Field(default=1_048_576, description="Largest SCIM request body, in bytes.")
    scim_token_cache_seconds: float = Field(
        default=30.0, description="How long a verified SCIM token is trusted without a lookup (revocation delay)."
    )
    scim_cursor_secret: str | None = Field(
        default=None, description="Key signing RFC 9865 cursors; set it so cursors survive restarts and replicas."
    )
    scim_cursor_timeout_seconds: int = 600
    scim_rate_limit_per_second: float = Field(
        default=100.0, description="SCIM requests a second each tenant may make on average (0: no limit)."
    )
    scim_rate_limit_burst: int = Field(default=200, description="SCIM requests a tenant may make at once.")
    scim_rate_limit_exchange_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often instances share what they admitted, so the rate limit holds for the deployment (0: "
        "each instance limits alone).",
    )
    scim_tenant_max_in_flight: int = Field(
        default=16,
        ge=0,
        description="SCIM requests of one tenant one process works on at once, so no tenant holds the database "
        "(0: no bound). As many as one transaction commits together: fewer would split those batches.",
    )
    scim_tenant_max_waiting: int = Field(
        default=200,
        ge=0,
        description="SCIM requests of one tenant that may wait for one of those slots (as many as the rate limit's "
        "burst, so a burst it admits is queued, not refused); beyond, 429.",
    )
    scim_tenant_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long a SCIM request waits for one of its tenant's slots before a 429 (as long as a write may "
        "wait for its tenant's turn at the database).",
    )
    max_concurrent_requests: int = Field(
        default=256, ge=1, description="Requests one process works on at once; beyond, 503 with Retry-After."
    )
    max_connections: int = Field(default=1000, ge=1, description="Open connections one process accepts.")
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a client may take to send a request's line and headers."
    )
    body_timeout_seconds: float = Field(default=30.0, gt=0, description="How long a client may take to send a body.")
    trust_forwarded: bool = Field(
        default=False, description="Build SCIM locations from X-Forwarded-Proto/Host (behind a trusted proxy)."
    )
    activity_log: bool = Field(
        default=True, description="Keep the activity log: a record of each SCIM request and GraphQL mutation."
    )
    activity_retention_days: int = Field(
        default=30, ge=1, le=3650, description="How long the activity log keeps a request's record, in days."
    )
    activity_queue_size: int = Field(
        default=10_000, ge=100, description="Activity records held in memory before new ones are dropped (counted)."
    )
    metrics_token: str | None = Field(
        default=None,
        description="Bearer token a /metrics scrape must present; when unset, only clients on this host may scrape.",
    )
    graphiql: bool = Field(default=False, description="Serve the GraphiQL IDE at /graphql (development only).")
    graphql_allowed_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to open /graphql WebSockets."
    )
    graphql_api_key_cache_seconds: float = Field(
        default=30.0, description="How long a verified API key is trusted without a lookup (revocation delay)."
    )
    graphql_max_nodes: int = Field(
        default=DEFAULT_MAX_NODES,
        gt=0,
        description="The most nodes one GraphQL operation may return, priced from its page sizes before it runs.",
    )
    oauth_signing_key: str | None = Field(
        default=None,
        description="PEM private key (RSA or EC P-256), or the path of a PEM file, that signs OAuth access tokens.",
    )
    oauth_issuer: str = Field(default="urn:identity-store", description="The iss of issued access tokens.")
    oauth_audience: str = Field(default="urn:identity-store:scim", description="The aud of issued access tokens.")
    oauth_rate_limit_per_client_per_second: float = Field(
        default=1.0, description="Token requests a second each OAuth client id may make on average (0: no limit)."
    )
    oauth_rate_limit_per_client_burst: int = Field(
        default=20, description="Token requests a client id may make at once."
    )
    oauth_rate_limit_per_address_per_second: float = Field(
        default=10.0, description="Token requests a second each source address may make on average (0: no limit)."
    )
    oauth_rate_limit_per_address_burst: int = Field(
        default=100, description="Token requests a source address may make at once."
    )
    oauth_failure_cost: float = Field(
        default=5.0, description="How many requests' worth of both buckets a failed client authentication takes."
    )
    oauth_jwks_timeout_seconds: float = Field(
        default=5.0, description="Deadline for a whole key-set fetch (Entra's or a federated client's issuer's)."
    )
    entra_jwks_url: str = Field(
        default="https://login.microsoftonline.com/common/discovery/keys",
        description="Where the keys of Entra-issued tokens are fetched.",
    )
    entra_jwks_refetch_seconds: float = Field(
        default=60.0, description="Least time between key-set fetches caused by an unknown key id."
    )

    # --- Admin console (/admin) -----------------------------------------------------------------
    console_enabled: bool = Field(default=True, description="Serve the tenant admins' console at /admin.")
    console_session_secret: str | None = Field(
        default=None,
        min_length=32,
        description="Key signing console session cookies (32+ characters); set it to survive restarts and replicas.",
    )
    console_session_minutes: int = Field(
        default=480, ge=5, le=1440, description="How long a console sign-in lasts before the admin signs in again."
    )
    console_lockout_failures: int = Field(
        default=5, ge=1, description="Failed console sign-ins, per address and per credential, that lock it."
    )
    console_lockout_minutes: int = Field(
        default=15, ge=1, description="How long a locked address or credential is refused without a check."
    )

    # --- Shared Signals (SSF 1.0 transmitter) -------------------------------------------------
    ssf_enabled: bool = Field(
        default=True,
        description="Serve the Shared Signals transmitter (needs the OAuth signing key, which signs SETs).",
    )
    ssf_issuer: str | None = Field(default=None, description="The iss of SETs; the OAuth issuer when unset.")
    ssf_base_url: str | None = Field(
        default=None, description="The public base URL the SSF discovery document names; the request's when unset."
    )
    ssf_push_interval_seconds: float = Field(
        default=0.2, gt=0, description="How often the push loop reads the logs of the push streams."
    )
    ssf_push_timeout_seconds: float = Field(default=5.0, gt=0, description="Deadline of one SET push to a receiver.")
    ssf_retry_base_seconds: float = Field(
        default=1.0, gt=0, description="Back-off of a failing push receiver: the longest wait after its first failure."
    )
    ssf_retry_max_seconds: float = Field(
        default=300.0, gt=0, description="Back-off of a failing push receiver: the longest wait between two attempts."
    )
    ssf_disable_after_seconds: float = Field(
        default=3 * 24 * 3600.0,
        gt=0,
        description="How long a push receiver may fail (no SET accepted) before its stream is disabled.",
    )
    ssf_allow_insecure_push: bool = Field(
        default=False, description="Accept http:// push endpoints (development and tests only)."
    )
    ssf_allow_private_push: bool = Field(
        default=False,
        description="Accept push endpoints on loopback, private, link-local or metadata addresses (development).",
    )

    # --- Soft deletion (identity_store.domain.deletions): how long deleted objects stay restorable ---
    deleted_retention_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="Days a deleted user or group stays restorable before it is purged (a tenant may override it).",
    )
    purge_job: bool = Field(default=True, description="Run the purge job of deleted objects in this process.")
    purge_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often the purge job looks for deleted objects past their retention."
    )
    purge_lease_seconds: float = Field(
        default=300.0, gt=0, description="How long an instance holds the purge job's lease unrenewed."
    )

    # --- Webhooks (outbound.webhooks): delivery of each tenant's events to its subscriptions ---
    webhook_delivery: bool = Field(default=True, description="Run the webhook delivery worker in this process.")
    webhook_poll_seconds: float = Field(
        default=0.25, gt=0, description="How often the worker looks for new events (the floor of delivery latency)."
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Deadline of one delivery request.")
    webhook_lease_seconds: float = Field(
        default=30.0, gt=0, description="How long an instance holds a subscription unrenewed (more than the timeout)."
    )
    webhook_max_concurrency: int = Field(default=16, ge=1, description="Subscriptions one process delivers at once.")
    webhook_backoff_base_seconds: float = Field(default=1.0, gt=0, description="First retry delay after a failure.")
    webhook_backoff_max_seconds: float = Field(default=300.0, gt=0, description="Longest retry delay.")
    webhook_dead_after_seconds: float = Field(
        default=259_200.0, gt=0, description="How long a subscription may keep failing before it is dead (3 days)."
    )
    webhook_allow_http: bool = Field(default=False, description="Allow plain-http webhook URLs (development only).")
    webhook_allow_private_addresses: bool = Field(
        default=False,
        description="Allow webhooks to private, loopback, link-local and metadata addresses (development only).",
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_request(self) -> Settings:
        """A lease shorter than a request could expire mid-delivery and let a second instance send
        the same subscription's events at once; refused at start rather than found out in use."""
        if self.webhook_lease_seconds <= 2 * self.webhook_timeout_seconds:
            raise ValueError("IDENTITY_WEBHOOK_LEASE_SECONDS must be more than twice IDENTITY_WEBHOOK_TIMEOUT_SECONDS")
        return self


def server_limits(settings: Settings) -> ServerLimits:
    """The connection bounds ``serve`` runs uvicorn with."""
    return ServerLimits(
        header_seconds=settings.header_timeout_seconds,
        body_seconds=settings.body_timeout_seconds,
        max_connections=settings.max_connections,
    )

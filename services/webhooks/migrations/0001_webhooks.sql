-- The webhooks service's schema: the endpoints admins register, one delivery per
-- (endpoint, event), each attempt at it, and the log of what happened to endpoints.
-- webhooks reads only the public event exchanges; it never reads another service's
-- tables and publishes nothing on the bus.

-- -- which events were applied (exactly-once consumers) ---------------------------------
-- pasokh:include processed_events

-- -- endpoints --------------------------------------------------------------------------
-- secret signs every request (HMAC-SHA256). After a rotation, previous_secret signs
-- too until previous_secret_until, so receivers can switch without losing requests.
-- consecutive_failures counts deliveries that failed for good since the last one
-- delivered; at WEBHOOKS_DISABLE_AFTER the endpoint is disabled with disabled_reason.
CREATE TABLE webhooks.endpoints (
    endpoint_id           uuid PRIMARY KEY,
    url                   text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    description           text NOT NULL DEFAULT '',
    event_filter          text[] NOT NULL CHECK (cardinality(event_filter) BETWEEN 1 AND 50),
    -- Extra request headers (name -> value); values may be credentials: never shown.
    headers               jsonb NOT NULL DEFAULT '{}',
    enabled               boolean NOT NULL DEFAULT true,
    secret                text NOT NULL,
    previous_secret       text,
    previous_secret_until timestamptz,
    consecutive_failures  integer NOT NULL DEFAULT 0,
    disabled_reason       text,
    disabled_at           timestamptz,
    disabled_by           text,
    created_by            text NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);

-- -- deliveries -------------------------------------------------------------------------
-- States: pending -> sending -> delivered, or -> failed; 'sending' is committed
-- BEFORE the request goes out, with a lease. A row left in it past lease_until (the
-- sender died) is taken again: the receiver may get it twice (at least once), never
-- zero times. body is the CloudEvents JSON, fixed at creation.
CREATE TABLE webhooks.deliveries (
    delivery_id     uuid PRIMARY KEY,
    endpoint_id     uuid NOT NULL REFERENCES webhooks.endpoints ON DELETE CASCADE,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    source          text NOT NULL,
    body            text NOT NULL,
    state           text NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    lease_until     timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX deliveries_due ON webhooks.deliveries (next_attempt_at)
    WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_of_endpoint ON webhooks.deliveries (endpoint_id, created_at DESC);
-- For the retention sweep (WEBHOOKS_RETENTION_DAYS).
CREATE INDEX deliveries_finished ON webhooks.deliveries (finished_at)
    WHERE state IN ('delivered', 'failed');

-- One row per request sent (numbered across redeliveries).
CREATE TABLE webhooks.attempts (
    delivery_id      uuid NOT NULL REFERENCES webhooks.deliveries ON DELETE CASCADE,
    number           integer NOT NULL,
    started_at       timestamptz NOT NULL,
    duration_ms      integer NOT NULL,
    status_code      integer,
    outcome          text NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    error            text,
    response_excerpt text,
    PRIMARY KEY (delivery_id, number)
);

-- -- what happened to endpoints (admin-visible) ----------------------------------------
-- registered, updated, enabled, disabled (by an admin), auto_disabled
-- (WebhookEndpointDisabled), secret_rotated, deleted. Kept after a delete.
CREATE TABLE webhooks.endpoint_log (
    id          bigserial PRIMARY KEY,
    endpoint_id uuid NOT NULL,
    action      text NOT NULL,
    actor       text NOT NULL,
    detail      text,
    at          timestamptz NOT NULL
);
CREATE INDEX endpoint_log_endpoint ON webhooks.endpoint_log (endpoint_id, at);

GRANT USAGE ON SCHEMA webhooks TO {app_role};
GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks.endpoints, webhooks.deliveries TO {app_role};
GRANT SELECT, INSERT ON webhooks.attempts, webhooks.endpoint_log TO {app_role};
GRANT USAGE ON SEQUENCE webhooks.endpoint_log_id_seq TO {app_role};

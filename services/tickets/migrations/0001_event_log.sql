-- The append-only event log: the source of truth of the tickets service.
-- Ordering method (docs/event-log.md): every row stores the id of the transaction
-- that wrote it (xid8). Readers take rows in (xid, position) order and only below
-- the oldest still-running transaction, so a row that commits late can never be
-- skipped by a reader that already moved past its position.
CREATE TABLE tickets.events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text NOT NULL,
    version         integer NOT NULL CHECK (version > 0),
    event_id        uuid NOT NULL UNIQUE,
    event_type      text NOT NULL,
    schema_version  integer NOT NULL DEFAULT 1 CHECK (schema_version > 0),
    data            jsonb NOT NULL,
    metadata        jsonb NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT events_stream_version_unique UNIQUE (stream_id, version)
);
CREATE INDEX events_xid_position ON tickets.events (xid, position);

-- Append-only, enforced by the database for every role that is not a superuser
-- disabling triggers: no grant of UPDATE/DELETE/TRUNCATE, and triggers that refuse.
CREATE FUNCTION tickets.refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'tickets.events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON tickets.events
    FOR EACH ROW EXECUTE FUNCTION tickets.refuse_event_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON tickets.events
    FOR EACH STATEMENT EXECUTE FUNCTION tickets.refuse_event_change();

-- A command retried with the same idempotency key returns the first answer.
CREATE TABLE tickets.command_results (
    idempotency_key text PRIMARY KEY,
    command         text NOT NULL,
    stream_id       text NOT NULL,
    result          jsonb NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);

-- Where each relay (by name) has got to in the log.
CREATE TABLE tickets.relay_positions (
    relay_name    text PRIMARY KEY,
    last_xid      xid8 NOT NULL DEFAULT '0'::xid8,
    last_position bigint NOT NULL DEFAULT 0,
    published     bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

GRANT USAGE ON SCHEMA tickets TO {app_role};
REVOKE ALL ON tickets.events FROM {app_role};
GRANT SELECT, INSERT ON tickets.events TO {app_role};
GRANT SELECT, INSERT ON tickets.command_results TO {app_role};
GRANT SELECT, INSERT, UPDATE ON tickets.relay_positions TO {app_role};

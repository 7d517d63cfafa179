"""DDL of an event-sourced service's log, shared by every service that keeps one.

Migrations include it with the line ``-- pasokh:include event_log`` (see
``pasokh_common.migrations``), so the append-only rules, the ordering column and the
grants are written once. ``{schema}`` is filled in here, ``{app_role}`` by the runner.
"""

from __future__ import annotations

EVENT_LOG_TEMPLATE = """\
-- The append-only event log: the source of truth of the service that owns {schema}.
-- Ordering method (docs/event-log.md): every row stores the id of the transaction
-- that wrote it (xid8). Readers take rows in (xid, position) order and only below
-- the oldest still-running transaction, so a row that commits late can never be
-- skipped by a reader that already moved past its position.
CREATE TABLE {schema}.events (
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
CREATE INDEX events_xid_position ON {schema}.events (xid, position);

-- Append-only, enforced by the database for every role that is not a superuser
-- disabling triggers: no grant of UPDATE/DELETE/TRUNCATE, and triggers that refuse.
CREATE FUNCTION {schema}.refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{schema}.events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON {schema}.events
    FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_event_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {schema}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_event_change();

-- A command retried with the same idempotency key returns the first answer.
CREATE TABLE {schema}.command_results (
    idempotency_key text PRIMARY KEY,
    command         text NOT NULL,
    stream_id       text NOT NULL,
    result          jsonb NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);

-- Where each relay (by name) has got to in the log.
CREATE TABLE {schema}.relay_positions (
    relay_name    text PRIMARY KEY,
    last_xid      xid8 NOT NULL DEFAULT '0'::xid8,
    last_position bigint NOT NULL DEFAULT 0,
    published     bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

GRANT USAGE ON SCHEMA {schema} TO {app_role};
REVOKE ALL ON {schema}.events FROM {app_role};
GRANT SELECT, INSERT ON {schema}.events TO {app_role};
GRANT SELECT, INSERT ON {schema}.command_results TO {app_role};
GRANT SELECT, INSERT, UPDATE ON {schema}.relay_positions TO {app_role};
"""


def quote_identifier(identifier: str) -> str:
    """Quote without a connection: a double quote doubled, the whole wrapped."""
    return '"' + identifier.replace('"', '""') + '"'


def event_log_ddl(schema: str) -> str:
    return EVENT_LOG_TEMPLATE.replace("{schema}", quote_identifier(schema))


EVENT_CHAIN_TEMPLATE = """\
-- The hash chain (docs/event-log.md, "The hash chain"): a sealer seals rows after they
-- commit, in committed (xid, position) order, each with chain_seq (1, 2, ...) and
-- chain_hash = sha256(previous hash || the row's stored columns). NULL until sealed.
ALTER TABLE {schema}.events
    ADD COLUMN chain_seq bigint,
    ADD COLUMN chain_hash bytea,
    ADD CONSTRAINT events_chain_seq_unique UNIQUE (chain_seq),
    ADD CONSTRAINT events_chain_seq_positive CHECK (chain_seq > 0),
    ADD CONSTRAINT events_chain_sealed_whole CHECK ((chain_seq IS NULL) = (chain_hash IS NULL));
-- What the sealer looks for: small, since rows leave it once sealed.
CREATE INDEX events_unsealed ON {schema}.events (xid, position) WHERE chain_seq IS NULL;

-- Still append-only: the one UPDATE allowed sets chain_seq and chain_hash, from NULL,
-- once, with every other column unchanged (compared as stored, to the last digit).
CREATE FUNCTION {schema}.allow_only_sealing() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.chain_seq IS NULL AND OLD.chain_hash IS NULL
       AND NEW.chain_seq IS NOT NULL AND NEW.chain_hash IS NOT NULL
       AND (to_jsonb(NEW) - 'chain_seq' - 'chain_hash')::text
           = (to_jsonb(OLD) - 'chain_seq' - 'chain_hash')::text
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '{schema}.events is append-only: UPDATE may only seal a row once'
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER events_no_update_delete ON {schema}.events;
CREATE TRIGGER events_no_delete BEFORE DELETE ON {schema}.events
    FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_event_change();
CREATE TRIGGER events_only_sealing BEFORE UPDATE ON {schema}.events
    FOR EACH ROW EXECUTE FUNCTION {schema}.allow_only_sealing();
GRANT UPDATE (chain_seq, chain_hash) ON {schema}.events TO {app_role};
"""


def event_chain_ddl(schema: str) -> str:
    """The chain columns, the sealing-only UPDATE rule and its grant, for ``schema``."""
    return EVENT_CHAIN_TEMPLATE.replace("{schema}", quote_identifier(schema))

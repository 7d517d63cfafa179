-- The SLA service's schema: calendars and policies (changed over RPC, each change an
-- event), the per-ticket clocks (instants in epoch seconds, as the business-time
-- engine works), ticket events waiting for an earlier version, its own event log and
-- the consumer's processed_events.

-- -- the event log, command idempotency and relay positions (shared DDL) ---------------
-- pasokh:include event_log

-- -- exactly-once consumption of tickets.events ----------------------------------------
-- pasokh:include processed_events

-- -- rules: calendars, holidays, bindings, policies ------------------------------------
-- One row. ``version`` is bumped by every rules change so processes can cache what
-- they loaded; the admin holiday data file as last loaded by any process is kept
-- here, so every replica builds the same calendars (and a changed file can be told
-- from the one the open clocks were laid out on).
CREATE TABLE sla.rules_state (
    singleton             boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version               bigint NOT NULL,
    holiday_file_digest   text,
    holiday_file          jsonb,
    holiday_file_loaded_at timestamptz
);
INSERT INTO sla.rules_state (version) VALUES (1);

-- ``settings`` is BusinessCalendar.from_config's mapping without "holidays":
-- time_zone, weekly_schedule, official_holidays, esfand_30_holiday, horizon_days.
CREATE TABLE sla.calendars (
    calendar_id text PRIMARY KEY CHECK (calendar_id ~ '^[a-z][a-z0-9-]{1,62}$'),
    name        text NOT NULL,
    settings    jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sla.calendars (calendar_id, name, settings)
VALUES ('default', 'Tehran, Saturday-Wednesday 09:00-17:00', '{}');

-- An admin's last word on one local date of one calendar: closed (an announced
-- closure, a lunar holiday observed on another day) or open (a working day after all).
CREATE TABLE sla.holiday_overrides (
    calendar_id text NOT NULL REFERENCES sla.calendars,
    day         date NOT NULL,
    closed      boolean NOT NULL,
    name_fa     text,
    name_en     text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (calendar_id, day)
);

-- Departments not listed here use the calendar 'default'.
CREATE TABLE sla.department_calendars (
    department  text PRIMARY KEY,
    calendar_id text NOT NULL REFERENCES sla.calendars,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Targets in business seconds per priority; department '*' applies to every
-- department without a row of its own. warning_share NULL: SLA_WARNING_SHARE.
CREATE TABLE sla.policies (
    priority                         text NOT NULL
        CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    department                       text NOT NULL DEFAULT '*',
    first_response_seconds           integer NOT NULL CHECK (first_response_seconds > 0),
    follow_up_first_response_seconds integer NOT NULL
        CHECK (follow_up_first_response_seconds > 0),
    next_reply_seconds               integer NOT NULL CHECK (next_reply_seconds > 0),
    resolution_seconds               integer NOT NULL CHECK (resolution_seconds > 0),
    warning_share                    double precision
        CHECK (warning_share > 0 AND warning_share < 1),
    notify_outside_hours             boolean NOT NULL DEFAULT false,
    updated_at                       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (priority, department)
);
-- The seed: review within 24 business hours, 72 when the case needs follow-up.
INSERT INTO sla.policies (priority, first_response_seconds, follow_up_first_response_seconds,
                          next_reply_seconds, resolution_seconds)
SELECT p, 24 * 3600, 72 * 3600, 24 * 3600, 120 * 3600
FROM unnest(ARRAY['low', 'normal', 'high', 'urgent']) AS p;

-- -- clocks ---------------------------------------------------------------------------
-- One row per ticket: what the clocks need to know of it, the last ticket-stream
-- version applied, the head of its stream in sla.events, and when the timer must
-- next look at it. The row is the ticket's lock: handlers take it FOR UPDATE, the
-- timer claims due rows FOR UPDATE SKIP LOCKED.
CREATE TABLE sla.tickets (
    ticket_id       text PRIMARY KEY,
    department      text NOT NULL,
    priority        text NOT NULL,
    needs_follow_up boolean NOT NULL,
    calendar_id     text NOT NULL,
    assignee_id     text,
    phase           text NOT NULL CHECK (phase IN ('awaiting_us', 'awaiting_customer', 'closed')),
    responded       boolean NOT NULL,
    applied_version integer NOT NULL CHECK (applied_version > 0),
    sla_version     integer NOT NULL DEFAULT 0,
    opened_at       bigint NOT NULL,
    number          text,
    next_due_at     bigint,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_due ON sla.tickets (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX tickets_open_calendar ON sla.tickets (calendar_id) WHERE phase <> 'closed';
CREATE INDEX tickets_open_rules ON sla.tickets (priority, department) WHERE phase <> 'closed';

-- One row per target instance (first_response 1; next_reply 1..n; resolution 1..n).
CREATE TABLE sla.clocks (
    ticket_id      text NOT NULL REFERENCES sla.tickets ON DELETE CASCADE,
    target         text NOT NULL CHECK (target IN ('first_response', 'next_reply', 'resolution')),
    cycle          integer NOT NULL CHECK (cycle > 0),
    status         text NOT NULL
        CHECK (status IN ('running', 'paused', 'met', 'breached', 'stopped')),
    target_seconds integer NOT NULL CHECK (target_seconds > 0),
    started_at     bigint NOT NULL,
    used_seconds   bigint NOT NULL,
    running_since  bigint,
    deadline       bigint,
    warn_at        bigint,
    warned_at      bigint,
    breached_at    bigint,
    ended_at       bigint,
    PRIMARY KEY (ticket_id, target, cycle)
);
CREATE INDEX clocks_at_risk ON sla.clocks (ticket_id)
    WHERE warned_at IS NOT NULL AND status IN ('running', 'paused');

-- Ticket events that arrived before an earlier version of their ticket's stream (one
-- queue per consumer and concurrent workers reorder; retries reorder more). They are
-- applied, and deleted, as soon as the versions before them have been.
CREATE TABLE sla.inbox (
    ticket_id   text NOT NULL,
    version     integer NOT NULL CHECK (version > 0),
    event_id    text NOT NULL,
    event_type  text NOT NULL,
    data        jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, version)
);

GRANT SELECT, UPDATE ON sla.rules_state TO {app_role};
GRANT SELECT, INSERT, UPDATE ON sla.calendars TO {app_role};
GRANT SELECT, INSERT, UPDATE, DELETE ON sla.holiday_overrides, sla.department_calendars,
    sla.policies TO {app_role};
GRANT SELECT, INSERT, UPDATE ON sla.tickets, sla.clocks TO {app_role};
GRANT SELECT, INSERT, DELETE ON sla.inbox TO {app_role};

-- The notify service's schema: outgoing SMS and their delivery state, editable
-- templates, what notify keeps of tickets and department membership (from events; it
-- never reads another service's tables), the shared rate-limit buckets, the console
-- provider's outbox, and its own event log (SmsSent / SmsFailed) for the relay.

-- -- the event log, command idempotency and relay positions (shared DDL) ---------------
-- pasokh:include event_log

-- -- which events were applied (exactly-once consumers) ---------------------------------
-- pasokh:include processed_events

-- -- templates --------------------------------------------------------------------------
-- One body per template and language. Placeholders are checked on edit
-- (services/notify/domain/templates.py); these are the defaults.
CREATE TABLE notify.templates (
    template   text NOT NULL,
    language   text NOT NULL CHECK (language IN ('fa', 'en')),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT 'migration',
    PRIMARY KEY (template, language)
);

INSERT INTO notify.templates (template, language, body) VALUES
    ('verification_code', 'fa', E'کد تأیید پاسخ: {code}\nاین کد را به هیچ‌کس ندهید.'),
    ('verification_code', 'en', E'Pasokh verification code: {code}\nDo not share it with anyone.'),
    ('password_reset_code', 'fa', E'کد بازیابی گذرواژهٔ پاسخ: {code}\nاگر درخواست نکرده‌اید، این پیام را نادیده بگیرید.'),
    ('password_reset_code', 'en', E'Pasokh password reset code: {code}\nIf you did not ask for it, ignore this message.'),
    ('ticket_opened', 'fa', E'درخواست شما با شمارهٔ {number} ثبت شد.\nپیگیری: {ticket_url}'),
    ('ticket_opened', 'en', E'Your ticket {number} has been received.\nFollow it at {ticket_url}'),
    ('ticket_answered', 'fa', E'به درخواست شمارهٔ {number} پاسخ داده شد.\nمشاهده: {ticket_url}'),
    ('ticket_answered', 'en', E'Your ticket {number} has been answered.\nRead the reply at {ticket_url}'),
    ('ticket_closed', 'fa', E'درخواست شمارهٔ {number} بسته شد. لطفاً به پاسخ ما امتیاز دهید:\n{rating_url}'),
    ('ticket_closed', 'en', E'Your ticket {number} is closed. Please rate our answer:\n{rating_url}'),
    ('sla_warning', 'fa', E'هشدار مهلت: {target} درخواست {number} (واحد {department}) تا {deadline}.\n{ticket_url}'),
    ('sla_warning', 'en', E'SLA warning: {target} of ticket {number} ({department}) is due {deadline}.\n{ticket_url}'),
    ('sla_breached', 'fa', E'مهلت گذشت: {target} درخواست {number} (واحد {department}) تا {deadline} انجام نشد.\n{ticket_url}'),
    ('sla_breached', 'en', E'SLA breached: {target} of ticket {number} ({department}) was due {deadline}.\n{ticket_url}');

-- -- what notify knows of tickets and departments ---------------------------------------
-- From TicketOpened: later events (ReplyPosted, TicketClosed) carry only the ticket id.
CREATE TABLE notify.tickets (
    ticket_id   text PRIMARY KEY,
    number      text NOT NULL,
    customer_id text NOT NULL,
    department  text NOT NULL,
    opened_at   timestamptz NOT NULL
);

-- From identity's AgentAssignedToDepartment / AgentRemovedFromDepartment: who
-- supervises which department (SLA escalations go to them).
CREATE TABLE notify.department_members (
    user_id       text NOT NULL,
    department_id text NOT NULL,
    role          text NOT NULL,
    active        boolean NOT NULL,
    changed_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, department_id)
);
CREATE INDEX department_members_department ON notify.department_members (department_id)
    WHERE active;

-- -- messages ---------------------------------------------------------------------------
-- One row per SMS a person should get once. idempotency_key names (event, template,
-- recipient) or identity's RPC call for a code; message_id is derived from it.
-- States: queued -> sending -> sent -> delivered, or -> failed (failure_reason).
-- 'sending' is written and committed BEFORE the provider is called; a row left in it
-- past lease_until (a crash) is reconciled, never blindly resent (docs/notify.md).
CREATE TABLE notify.messages (
    message_id          uuid PRIMARY KEY,
    idempotency_key     text NOT NULL UNIQUE,
    template            text NOT NULL,
    language            text,
    urgent              boolean NOT NULL DEFAULT false,
    user_id             text NOT NULL,
    ticket_id           text,
    cause_event_id      text,
    correlation_id      text,
    -- Template values (never a code); the text itself is stored once rendered, except
    -- for codes, whose text is never stored.
    params              jsonb NOT NULL DEFAULT '{}',
    body                text,
    recipient           text,
    provider            text,
    provider_message_id text,
    encoding            text,
    parts               integer,
    state               text NOT NULL
        CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'failed')),
    attempts            integer NOT NULL DEFAULT 0,
    -- The last attempt may have reached the provider: look it up before sending again.
    uncertain           boolean NOT NULL DEFAULT false,
    next_attempt_at     timestamptz NOT NULL,
    lease_until         timestamptz,
    failure_reason      text,
    last_error          text,
    expires_at          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    sent_at             timestamptz,
    delivered_at        timestamptz,
    failed_at           timestamptz,
    status_checked_at   timestamptz
);
CREATE INDEX messages_due ON notify.messages (urgent DESC, next_attempt_at)
    WHERE state = 'queued';
CREATE INDEX messages_stale ON notify.messages (lease_until) WHERE state = 'sending';
CREATE INDEX messages_awaiting_report ON notify.messages (status_checked_at NULLS FIRST)
    WHERE state = 'sent';
CREATE INDEX messages_by_ticket ON notify.messages (ticket_id, created_at);
CREATE INDEX messages_by_user ON notify.messages (user_id, created_at);
CREATE INDEX messages_by_recipient ON notify.messages (recipient, updated_at)
    WHERE provider_message_id IS NOT NULL;

-- Every provider call and what came of it: the audit of "why was this not sent".
CREATE TABLE notify.attempts (
    message_id  uuid NOT NULL REFERENCES notify.messages,
    attempt     integer NOT NULL,
    provider    text NOT NULL,
    action      text NOT NULL CHECK (action IN ('send', 'lookup')),
    outcome     text NOT NULL,
    reason      text,
    detail      text,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    PRIMARY KEY (message_id, attempt, action)
);

-- -- per-provider token buckets (shared by every notify process) ------------------------
CREATE TABLE notify.rate_limits (
    provider    text PRIMARY KEY,
    tokens      double precision NOT NULL,
    refilled_at timestamptz NOT NULL
);

-- -- the console provider's outbox (local runs and tests; never production) -------------
CREATE TABLE notify.outbox (
    outbox_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id  text NOT NULL UNIQUE,
    recipient  text NOT NULL,
    body       text NOT NULL,
    template   text NOT NULL,
    parts      integer NOT NULL,
    encoding   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON notify.templates, notify.tickets, notify.department_members,
    notify.messages, notify.rate_limits TO {app_role};
GRANT SELECT, INSERT ON notify.attempts, notify.outbox TO {app_role};

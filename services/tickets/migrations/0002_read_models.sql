-- Read models: derived from the event log, updated in the append's transaction, and
-- rebuildable at any time (`pasokh tickets rebuild-read-models`).

CREATE SEQUENCE tickets.ticket_number_seq;

CREATE TABLE tickets.ticket_summary (
    ticket_id                uuid PRIMARY KEY,
    number                   text NOT NULL UNIQUE,
    customer_id              text NOT NULL,
    organisation_id          text,
    department               text NOT NULL,
    subject                  text NOT NULL,
    priority                 text NOT NULL,
    status                   text NOT NULL,
    assignee_id              text,
    needs_follow_up          boolean NOT NULL DEFAULT false,
    opened_at                timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    last_customer_message_at timestamptz NOT NULL,
    last_agent_reply_at      timestamptz,
    closed_at                timestamptz,
    merged_into              uuid,
    rating                   smallint,
    rating_comment           text,
    message_count            integer NOT NULL DEFAULT 0,
    version                  integer NOT NULL
);
-- "My tickets" by status, newest activity first.
CREATE INDEX ticket_summary_customer ON tickets.ticket_summary (customer_id, status, updated_at DESC);
CREATE INDEX ticket_summary_organisation ON tickets.ticket_summary (organisation_id, status, updated_at DESC)
    WHERE organisation_id IS NOT NULL;
-- The agents' queue: open tickets of a department, oldest customer message first.
CREATE INDEX ticket_summary_queue ON tickets.ticket_summary (department, last_customer_message_at, ticket_id)
    WHERE status <> 'closed';

-- The conversation of each ticket, in order: opening message, replies, internal notes.
CREATE TABLE tickets.messages (
    message_id   uuid PRIMARY KEY,
    ticket_id    uuid NOT NULL,
    position     bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('opening', 'reply', 'internal_note')),
    author_id    text NOT NULL,
    author_role  text NOT NULL,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL,
    attachments  jsonb NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX messages_ticket ON tickets.messages (ticket_id, position);

-- Which ticket an attachment belongs to (for download authorisation).
CREATE TABLE tickets.attachment_links (
    attachment_id uuid PRIMARY KEY,
    ticket_id     uuid NOT NULL,
    message_id    uuid NOT NULL,
    internal      boolean NOT NULL DEFAULT false
);

-- Attachment bytes: storage, not a read model (events carry only the metadata).
CREATE TABLE tickets.attachment_blobs (
    attachment_id uuid PRIMARY KEY,
    uploader_id   text NOT NULL,
    name          text NOT NULL,
    content_type  text NOT NULL,
    size          integer NOT NULL CHECK (size > 0 AND size <= 10485760),
    sha256        text NOT NULL,
    content       bytea NOT NULL,
    uploaded_at   timestamptz NOT NULL DEFAULT now()
);

GRANT USAGE ON SEQUENCE tickets.ticket_number_seq TO {app_role};
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON tickets.ticket_summary, tickets.messages,
    tickets.attachment_links TO {app_role};
GRANT SELECT, INSERT ON tickets.attachment_blobs TO {app_role};

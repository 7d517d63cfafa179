-- Replies and closings that overtook their ticket's TicketOpened (one queue per event
-- type): kept here, committed as processed, and applied in the transaction that
-- records the TicketOpened, instead of failing and coming back from a retry queue.
-- Only what the plans need is kept (no message text: nothing personal).
CREATE TABLE notify.held_ticket_events (
    event_id       uuid PRIMARY KEY,
    ticket_id      uuid NOT NULL,
    event_type     text NOT NULL,
    author_role    text,
    correlation_id text,
    held_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX held_ticket_events_ticket ON notify.held_ticket_events (ticket_id);
GRANT SELECT, INSERT, DELETE ON notify.held_ticket_events TO {app_role};

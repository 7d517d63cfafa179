-- The next SLA deadline of each ticket, as the sla service's SlaTargetsSet events say,
-- so the agents' queue can be ordered by it. Not rebuilt from the tickets log (it
-- comes from sla's), so it is not one of the projections' tables.
CREATE TABLE tickets.sla_deadlines (
    ticket_id     uuid PRIMARY KEY,
    next_deadline timestamptz,
    set_at        timestamptz NOT NULL
);

GRANT SELECT, INSERT, UPDATE ON tickets.sla_deadlines TO {app_role};

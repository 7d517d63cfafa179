-- Who works in which department, as the identity service's events say. Tickets keeps
-- its own copy so that a removal takes effect on the next command even while the
-- agent's access token (which lists departments) is still valid.
CREATE TABLE tickets.department_members (
    user_id       text NOT NULL,
    department_id text NOT NULL,
    role          text NOT NULL,
    active        boolean NOT NULL,
    changed_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, department_id)
);

-- pasokh:include processed_events

GRANT SELECT, INSERT, UPDATE ON tickets.department_members TO {app_role};

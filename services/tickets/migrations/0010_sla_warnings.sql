-- The deadline that sla's last SlaWarning concerned: while it is still the ticket's
-- next deadline, the ticket is "at risk" in the agents' queue (the sla service's own
-- warning point, from its policy's warning share, not a guess of the panel's).
ALTER TABLE tickets.sla_deadlines ADD COLUMN warned_deadline timestamptz;

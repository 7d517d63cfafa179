-- Every routing key webhooks has ever bound one of its event queues with
-- (evt-<source>-#--webhooks.<method>), recorded BEFORE the binding is made. AMQP
-- cannot list a queue's bindings, so this is how a reconcile knows what it may have
-- to unbind: everything here (and '#') that no enabled endpoint's filter needs now.
-- Rows are never deleted (a deleted row could hide a binding made by a concurrent
-- change); there are at most a few hundred (event types x sources).
CREATE TABLE webhooks.routing_keys (
    source      text NOT NULL,
    routing_key text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, routing_key)
);

GRANT SELECT, INSERT ON webhooks.routing_keys TO {app_role};

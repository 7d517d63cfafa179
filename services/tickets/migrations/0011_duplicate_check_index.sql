-- The duplicate check (services/tickets/similarity.py) compares a new subject with the
-- customer's most recently updated open tickets in the department. This index hands
-- them over already in that order, so the check reads MAX_CANDIDATES entries however
-- many tickets the customer or the department holds. Without it the planner combined
-- the department's queue index (every open ticket of the department) with the
-- customer's, then sorted: measured at 0.3 ms per opening with 3,000 open tickets in
-- the department, growing with it.
CREATE INDEX ticket_summary_open_by_customer
    ON tickets.ticket_summary (customer_id, department, updated_at DESC)
    WHERE status <> 'closed' AND merged_into IS NULL;

"""The SLA domain: pure clocks, policies and the per-ticket state machine.

No I/O, no nameko: it is driven by the application layer with facts read from ticket
events and the rules loaded from the database, and it is unit-tested on its own.
"""

"""SLA service: business-hour deadlines on the Iranian calendar.

``services.sla.calendar`` is the pure business-time engine (no I/O, no nameko): the
service layer feeds it ticket events and stores what it computes.
"""

"""The identity service's pure rules: no I/O, no clock of their own, no randomness
that a test cannot replace.

``accounts`` (kinds, usernames, what a login string is), ``roles`` (who may do what),
``codes`` (verification codes and when one may be sent), ``throttling`` (when a login
may be tried), ``passwords`` (what a password must be), ``events`` (the facts
recorded), ``errors`` (the refusals).
"""

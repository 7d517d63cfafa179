"""Code that every Pasokh service shares.

Importing this package first matters: psycopg picks its wait function when it is
imported, and its default C wait function blocks the eventlet hub (8 concurrent
``pg_sleep(1)`` took 8.1 s). ``wait_select`` cooperates with eventlet's patched
``select`` (1.0 s for the same load). ``wait_poll`` returned wrongly fast here, so
it is never used.
"""

import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

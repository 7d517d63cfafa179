"""Start-up guard: refuse to run a service whose database driver would stall the hub."""

import psycopg.waiting


class HubBlockingDriverError(RuntimeError):
    """psycopg was imported before ``pasokh_common`` could choose a cooperative wait."""


def assert_psycopg_cooperates() -> None:
    """Fail loudly at start-up instead of serialising every query in production."""
    name = psycopg.waiting.wait.__name__
    if name in ("wait_c", "wait_poll"):
        raise HubBlockingDriverError(
            f"psycopg wait function is {name!r}; import pasokh_common before psycopg "
            "or set PSYCOPG_WAIT_FUNC=wait_select"
        )

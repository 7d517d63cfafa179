"""eventlet helpers: the start-up guard that refuses to run a service whose database
driver would stall the hub, and running network calls side by side."""

from collections.abc import Callable, Iterable
from typing import TypeVar

import psycopg.waiting

T = TypeVar("T")
R = TypeVar("R")


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


def green_concurrently(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
    """Network calls overlap (they are waits); results keep their order."""
    import eventlet

    pool = eventlet.GreenPool(max(1, concurrency))
    return list(pool.imap(fn, items))


def one_by_one(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
    """``green_concurrently``'s stand-in for plain tests: the same calls, in turn."""
    return [fn(item) for item in items]

"""eventlet helpers: the start-up guard that refuses to run a service whose database
driver would stall the hub, psycopg's wait on the hub itself, and running network calls
side by side."""

from collections.abc import Callable, Iterable
from time import monotonic
from typing import Any, TypeVar

import psycopg.errors
import psycopg.waiting
from psycopg.waiting import READY_R, READY_W, WAIT_R, WAIT_W

T = TypeVar("T")
R = TypeVar("R")


class HubBlockingDriverError(RuntimeError):
    """psycopg was imported before ``pasokh_common`` could choose a cooperative wait."""


def assert_psycopg_cooperates() -> None:
    """Fail loudly at start-up instead of serialising every query in production."""
    name = psycopg.waiting.wait.__name__
    if name not in ("wait_select", "wait_on_hub"):
        raise HubBlockingDriverError(
            f"psycopg wait function is {name!r}; import pasokh_common before psycopg "
            "or set PSYCOPG_WAIT_FUNC=wait_select"
        )


def wait_on_hub(gen: Any, fileno: int, interval: float = 0.0, timeout: float | None = None) -> Any:
    """psycopg's wait, parked on the eventlet hub directly (``trampoline``).

    ``wait_select`` cooperates too, but through eventlet's green ``select``: per wait it
    builds listener maps for three fd lists and a timer for psycopg's 0.1 s interval
    (which exists only so that a blocked thread notices Ctrl-C; on the hub, signals
    and ``eventlet.Timeout`` arrive anyway). Here a wait is one listener and no timer
    unless psycopg gives a deadline: about 10 us less CPU per statement in a loop of
    eight greenthreads (docs/benchmarks.md, "psycopg's wait on the hub").
    """
    from eventlet.green import select
    from eventlet.hubs import trampoline

    deadline = monotonic() + timeout if timeout is not None else None
    try:
        state = next(gen)
        while True:
            left = None if deadline is None else max(0.0, deadline - monotonic())
            if state == WAIT_R:
                trampoline(fileno, read=True, timeout=left, timeout_exc=_WaitExpired)
                ready = READY_R
            elif state == WAIT_W:
                trampoline(fileno, write=True, timeout=left, timeout_exc=_WaitExpired)
                ready = READY_W
            else:
                # Rare (a send that did not fit the socket buffer): both directions at
                # once, so the server's output cannot fill up while we wait to write.
                readable, writable, _ = select.select([fileno], [fileno], [], left)
                if not (readable or writable):
                    raise _WaitExpired
                ready = (READY_R if readable else 0) | (READY_W if writable else 0)
            state = gen.send(ready)
    except _WaitExpired:
        raise psycopg.errors._WaitTimeout("wait timeout expired") from None
    except OSError as exc:
        raise psycopg.errors.OperationalError("connection socket closed") from exc
    except StopIteration as done:
        return done.value


class _WaitExpired(Exception):
    """psycopg's deadline passed while parked on the hub."""


def use_wait_on_hub() -> None:
    """Make psycopg wait with ``wait_on_hub``: only in a monkey-patched process (the
    service runner), where every thread of control is a greenthread on the hub."""
    psycopg.waiting.wait = wait_on_hub


def green_concurrently(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
    """Network calls overlap (they are waits); results keep their order."""
    import eventlet

    pool = eventlet.GreenPool(max(1, concurrency))
    return list(pool.imap(fn, items))


def one_by_one(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
    """``green_concurrently``'s stand-in for plain tests: the same calls, in turn."""
    return [fn(item) for item in items]

"""``@poll``: a nameko entrypoint that runs its method again as soon as it asks.

nameko's ``@timer`` fires at a fixed interval. The dispatcher needs to run again at
once while a backlog remains, after exactly the wait the rate limit names, and only
every ``interval`` seconds when idle. The method's return value says which: ``0`` or
a number of seconds, or ``None`` for the interval. Like the timer, one run at a time,
each in a nameko worker (so dependencies such as the RPC proxy work), and a stopping
service lets the run in progress finish.
"""

from __future__ import annotations

import logging

from eventlet import Timeout
from eventlet.event import Event
from nameko.extensions import Entrypoint

log = logging.getLogger(__name__)
MAX_SLEEP = 60.0


class Poller(Entrypoint):
    def __init__(self, interval: float, **kwargs) -> None:
        self.interval = interval
        self.should_stop = Event()
        self.worker_complete = Event()
        self.next_sleep: float | None = None
        self.gt = None
        super().__init__(**kwargs)

    def start(self) -> None:
        self.gt = self.container.spawn_managed_thread(self._run, identifier="poller")

    def stop(self) -> None:
        self.should_stop.send(True)
        if self.gt is not None:  # None: stopped before it started (a failed start)
            self.gt.wait()

    def kill(self) -> None:
        if self.gt is not None:
            self.gt.kill()

    def _run(self) -> None:
        sleep = 0.0
        while True:
            with Timeout(sleep, exception=False):
                self.should_stop.wait()
                break
            self.container.spawn_worker(self, (), {}, handle_result=self.handle_result)
            self.worker_complete.wait()
            self.worker_complete.reset()
            wanted = self.next_sleep
            sleep = self.interval if wanted is None else min(MAX_SLEEP, max(0.0, wanted))

    def handle_result(self, worker_ctx, result, exc_info):
        self.next_sleep = result if exc_info is None and isinstance(result, int | float) else None
        self.worker_complete.send()
        return result, exc_info


poll = Poller.decorator

"""Password hashing with argon2id (memory-hard), off the event loop.

One hash costs ~0.2 s of CPU at the default cost. Under eventlet that would freeze
every other request of the process for as long, so the service passes an ``offload``
that runs the work in a real OS thread (``eventlet.tpool.execute``); tests and the CLI
call directly.

A login for an account that does not exist still verifies against a dummy hash, so
the answer takes as long as for a real account and timing does not tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.identity.config import Argon2Params

T = TypeVar("T")
Offload = Callable[..., Any]


def run_here(function: Callable[..., T], *args: Any) -> T:
    return function(*args)


class Passwords:
    def __init__(self, params: Argon2Params, offload: Offload = run_here) -> None:
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
        )
        self._offload = offload

    def hash(self, password: str) -> str:
        return self._offload(self._hasher.hash, password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; ``stored_hash=None`` spends the same time and
        answers False."""
        target = stored_hash or self._dummy_hash
        try:
            ok = self._offload(self._hasher.verify, target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(ok) and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        """After the cost parameters were raised, a successful login upgrades the hash."""
        return self._hasher.check_needs_rehash(stored_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._offload(self._hasher.hash, "pasokh-no-such-account")

"""Helpers for nameko RPC entrypoints."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from pasokh_common.errors import PasokhError, ServiceError

F = TypeVar("F", bound=Callable[..., Any])


def domain_errors(method: F) -> F:
    """Turn the errors callers should see into ServiceError; anything else stays a bug
    and is logged by nameko as one."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except PasokhError as error:
            raise ServiceError.from_error(error) from error

    return wrapper  # type: ignore[return-value]

"""The SLA service's settings, from environment variables only (docs/sla.md).

A test-only clock offset exists so integration tests need not wait hours for a
deadline; it is refused unless a second variable says, in words, that this is a test,
and when accepted it is logged at start and exported as a metric, so a production
deployment cannot run on a shifted clock silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pasokh_common.settings import env_float, env_int, env_str

from services.sla.calendar import DEFAULT_OVERRIDES_PATH
from services.sla.domain.policy import DEFAULT_WARNING_SHARE

DEFAULT_TIMER_INTERVAL_SECONDS = 10.0
ALLOW_OFFSET_VALUE = "yes-this-is-a-test"


class ConfigurationError(RuntimeError):
    """The service cannot run safely with this environment; the message says why."""


@dataclass(frozen=True)
class SlaConfig:
    timer_interval_seconds: float = DEFAULT_TIMER_INTERVAL_SECONDS
    warning_share: float = DEFAULT_WARNING_SHARE
    scan_batch_size: int = 200
    holiday_overrides_path: Path = DEFAULT_OVERRIDES_PATH
    clock_offset_seconds: int = 0

    def __post_init__(self) -> None:
        if not self.timer_interval_seconds > 0:
            raise ConfigurationError("SLA_TIMER_INTERVAL_SECONDS must be greater than 0")
        if not 0 < self.warning_share < 1:
            raise ConfigurationError("SLA_WARNING_SHARE must be between 0 and 1 (e.g. 0.8)")
        if self.scan_batch_size < 1:
            raise ConfigurationError("SLA_SCAN_BATCH_SIZE must be at least 1")

    @classmethod
    def from_env(cls) -> SlaConfig:
        offset = env_int("SLA_CLOCK_OFFSET_SECONDS", 0)
        if offset and env_str("SLA_ALLOW_CLOCK_OFFSET", "") != ALLOW_OFFSET_VALUE:
            raise ConfigurationError(
                "SLA_CLOCK_OFFSET_SECONDS shifts every deadline check and is for tests only; "
                f"it is refused unless SLA_ALLOW_CLOCK_OFFSET={ALLOW_OFFSET_VALUE}"
            )
        return cls(
            timer_interval_seconds=timer_interval_from_env(),
            warning_share=env_float("SLA_WARNING_SHARE", DEFAULT_WARNING_SHARE),
            scan_batch_size=env_int("SLA_SCAN_BATCH_SIZE", 200),
            holiday_overrides_path=Path(
                env_str("SLA_HOLIDAY_OVERRIDES_PATH", str(DEFAULT_OVERRIDES_PATH))
            ),
            clock_offset_seconds=offset,
        )


def timer_interval_from_env() -> float:
    """Read apart from the rest: nameko's ``@timer`` needs it when the service class is
    defined, before any dependency is set up."""
    return env_float("SLA_TIMER_INTERVAL_SECONDS", DEFAULT_TIMER_INTERVAL_SECONDS)

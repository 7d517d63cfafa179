"""SMS providers behind one interface (``base.Provider``), chosen by ``SMS_PROVIDER``."""

from __future__ import annotations

import pasokh_common  # noqa: F401
from pasokh_common.db import ConnectionPool

from services.notify.config import NotifyConfig
from services.notify.providers.base import Outgoing, Provider

__all__ = ["Outgoing", "Provider", "build_provider"]


def build_provider(config: NotifyConfig, database_url: str) -> Provider:
    if config.provider == "kavenegar":
        from services.notify.providers.kavenegar import KavenegarProvider

        return KavenegarProvider(config.kavenegar, config.provider_timeout)
    if config.provider == "twilio":
        from services.notify.providers.twilio import TwilioProvider

        return TwilioProvider(config.twilio, config.provider_timeout)
    if config.provider == "http":
        from services.notify.providers.generic import HttpTemplateProvider

        return HttpTemplateProvider(config.http, config.provider_timeout)
    from services.notify.providers.console import ConsoleProvider

    return ConsoleProvider(ConnectionPool(database_url, max_size=2))

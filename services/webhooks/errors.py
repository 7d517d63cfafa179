"""Every way a webhooks request can be refused, with a stable code and both languages."""

from __future__ import annotations

from pasokh_common.errors import PasokhError, ValidationFailed, bilingual


class WebhooksError(PasokhError):
    code = "webhooks_error"


class NotPermitted(WebhooksError):
    code = "not_permitted"
    http_status = 403
    message_en = "Only administrators manage webhooks."
    message_fa = "فقط مدیران سامانه می‌توانند وب‌هوک‌ها را مدیریت کنند."


class EndpointNotFound(WebhooksError):
    code = "webhook_not_found"
    http_status = 404
    message_en = "No such webhook endpoint."
    message_fa = "چنین نشانی وب‌هوکی وجود ندارد."


class DeliveryNotFound(WebhooksError):
    code = "webhook_delivery_not_found"
    http_status = 404
    message_en = "No such webhook delivery."
    message_fa = "چنین ارسال وب‌هوکی وجود ندارد."


class DeliveryNotFinished(WebhooksError):
    code = "webhook_delivery_not_finished"
    http_status = 409
    message_en = "This delivery is still pending or in flight; redeliver it once it has finished."
    message_fa = "این ارسال هنوز در صف یا در حال انجام است؛ پس از پایان آن دوباره بفرستید."


def invalid(field: str, fa: str, en: str) -> ValidationFailed:
    return ValidationFailed(fields={field: [bilingual(fa, en)]})

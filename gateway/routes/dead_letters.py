"""Dead letters (admin): the messages an idempotent event handler parked in
``<queue>.dead``, listed without losing them, and replayed to their queue.

``pasokh_common.dlq`` talks AMQP itself, on the gateway's own ``AMQP_URI`` (nameko's
config). Its py-amqp sockets are eventlet's green sockets in a nameko process, so the
calls only suspend the worker's greenthread; they run under the RPC deadline, and a
broker that does not answer is 503 like a service that does not.
"""

from __future__ import annotations

import json
from typing import Any

from pasokh_common import dlq

import amqp.exceptions
import eventlet
from kombu.exceptions import KombuError
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider

from gateway.api import Access, Call, api
from gateway.base import GatewayBase
from gateway.errors import GatewayError, ServiceUnavailable
from gateway.schemas import sla as bodies

TAGS = ("administration",)


class DeadLetterQueueNotFound(GatewayError):
    code = "dead_letter_queue_not_found"
    http_status = 404
    message_en = "There is no dead-letter queue of that name."
    message_fa = "صف پیام‌های مرده با این نام وجود ندارد."


class AmqpUri(DependencyProvider):
    """The broker the gateway's own nameko container uses."""

    def get_dependency(self, worker_ctx) -> str:
        return str(self.container.config[AMQP_URI_CONFIG_KEY])


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


class DeadLetterRoutes(GatewayBase):
    amqp_uri = AmqpUri()

    def _broker(self, queue: str, action: Any) -> Any:
        timeout = self.runtime.config.rpc_timeout_seconds
        timer = eventlet.Timeout(timeout)
        try:
            return action()
        except eventlet.Timeout as exc:
            if exc is not timer:
                raise
            raise ServiceUnavailable(f"broker did not answer in {timeout}s") from None
        except amqp.exceptions.NotFound as exc:
            raise DeadLetterQueueNotFound(dlq.split_queue(queue)[1]) from exc
        except (OSError, KombuError, amqp.exceptions.AMQPError) as exc:
            raise ServiceUnavailable(f"broker: {exc}") from exc
        finally:
            timer.cancel()

    @api(
        "GET",
        "/api/v1/admin/dead-letters",
        summary="The messages parked in a queue's .dead queue, oldest first; none is taken",
        access=Access.ADMIN,
        tags=TAGS,
        query=bodies.DeadLetterQuery,
        response=bodies.DeadLetter,
        many=True,
    )
    def list_dead_letters(self, call: Call) -> Any:
        queue, limit = call.query["queue"], call.query["limit"]
        letters = self._broker(queue, lambda: dlq.list_dead(self.amqp_uri, queue, limit=limit))
        return _json_safe([letter.as_json() for letter in letters])

    @api(
        "POST",
        "/api/v1/admin/dead-letters/replay",
        summary="Move parked messages (or one, by message_id) back to their queue",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.ReplayBody,
        response=bodies.Replayed,
        description=(
            "Each message is published with confirms straight to its original queue and"
            " only then removed from .dead; replaying twice is harmless (the handler"
            " applies an event once)."
        ),
    )
    def replay_dead_letters(self, call: Call) -> Any:
        queue, message_id = call.body["queue"], call.body["message_id"]
        moved = self._broker(queue, lambda: dlq.replay(self.amqp_uri, queue, message_id=message_id))
        return {"queue": dlq.split_queue(queue)[0], "replayed": moved}

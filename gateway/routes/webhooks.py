"""Webhook administration (admins only): endpoints, their deliveries and attempts,
a test ping and a redelivery.

The webhooks service owns the rules (https only, filter patterns, who may act: it
checks the actor again); the gateway checks the admin role first and passes the actor
from the token. A secret appears in an answer only when it is made (register,
rotate).
"""

from __future__ import annotations

from typing import Any

from pasokh_common.rpc import RpcProxy

from gateway.api import Access, Call, Reply, api
from gateway.base import RPC_TIMEOUT_SECONDS, GatewayBase
from gateway.schemas import webhooks as bodies
from gateway.schemas.staff import EmptyBody

TAGS = ("webhooks",)
ENDPOINTS = "/api/v1/admin/webhooks"
ENDPOINT = f"{ENDPOINTS}/<endpoint_id>"
DELIVERY = "/api/v1/admin/webhook-deliveries/<delivery_id>"


class WebhookRoutes(GatewayBase):
    webhooks = RpcProxy("webhooks", expiration=RPC_TIMEOUT_SECONDS)

    @api(
        "POST",
        ENDPOINTS,
        summary="Register an endpoint; the answer carries its signing secret, once",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.RegisterBody,
        response=bodies.EndpointWithSecret,
        status=201,
        description="Deliveries start with the next matching event (docs/webhooks.md).",
    )
    def register_webhook(self, call: Call) -> Any:
        return Reply(self._rpc(self.webhooks.register_endpoint, call.actor, call.body), 201)

    @api(
        "GET",
        ENDPOINTS,
        summary="The registered endpoints, enabled or not (with why not)",
        access=Access.ADMIN,
        tags=TAGS,
        response=bodies.Endpoint,
        many=True,
    )
    def list_webhooks(self, call: Call) -> Any:
        return self._rpc(self.webhooks.list_endpoints, call.actor)

    @api(
        "GET",
        ENDPOINT,
        summary="One endpoint and the log of what happened to it",
        access=Access.ADMIN,
        tags=TAGS,
        response=bodies.Endpoint,
    )
    def get_webhook(self, call: Call, endpoint_id: str) -> Any:
        return self._rpc(self.webhooks.get_endpoint, call.actor, endpoint_id[:100])

    @api(
        "PATCH",
        ENDPOINT,
        summary="Change an endpoint's URL, event filter or description",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.UpdateBody,
        response=bodies.Endpoint,
    )
    def update_webhook(self, call: Call, endpoint_id: str) -> Any:
        return self._rpc(self.webhooks.update_endpoint, call.actor, endpoint_id[:100], call.body)

    @api(
        "DELETE",
        ENDPOINT,
        summary="Delete an endpoint with its deliveries (its log is kept)",
        access=Access.ADMIN,
        tags=TAGS,
        body=EmptyBody,
        response=bodies.Deleted,
    )
    def delete_webhook(self, call: Call, endpoint_id: str) -> Any:
        return self._rpc(self.webhooks.delete_endpoint, call.actor, endpoint_id[:100])

    @api(
        "POST",
        f"{ENDPOINT}/enable",
        summary="Enable an endpoint (resets its failure count; waiting deliveries resume)",
        access=Access.ADMIN,
        tags=TAGS,
        body=EmptyBody,
        response=bodies.Endpoint,
    )
    def enable_webhook(self, call: Call, endpoint_id: str) -> Any:
        return self._rpc(self.webhooks.enable_endpoint, call.actor, endpoint_id[:100])

    @api(
        "POST",
        f"{ENDPOINT}/disable",
        summary="Disable an endpoint: no new deliveries; pending ones wait",
        access=Access.ADMIN,
        tags=TAGS,
        body=bodies.DisableBody,
        response=bodies.Endpoint,
    )
    def disable_webhook(self, call: Call, endpoint_id: str) -> Any:
        return self._rpc(self.webhooks.disable_endpoint, call.actor, endpoint_id[:100], call.body)

    @api(
        "POST",
        f"{ENDPOINT}/rotate-secret",
        summary="A new signing secret (shown once); the old one signs too for a grace period",
        access=Access.ADMIN,
        tags=TAGS,
        body=EmptyBody,
        response=bodies.EndpointWithSecret,
    )
    def rotate_webhook_secret(self, call: Call, endpoint_id: str) -> Any:
        return self._rpc(self.webhooks.rotate_secret, call.actor, endpoint_id[:100])

    @api(
        "POST",
        f"{ENDPOINT}/ping",
        summary="Send a WebhookPing event to the endpoint now (even when disabled)",
        access=Access.ADMIN,
        tags=TAGS,
        body=EmptyBody,
        response=bodies.Delivery,
        status=202,
    )
    def ping_webhook(self, call: Call, endpoint_id: str) -> Any:
        return Reply(self._rpc(self.webhooks.ping_endpoint, call.actor, endpoint_id[:100]), 202)

    @api(
        "GET",
        f"{ENDPOINT}/deliveries",
        summary="The endpoint's deliveries, newest first, each with its attempts",
        access=Access.ADMIN,
        tags=TAGS,
        query=bodies.DeliveriesQuery,
        response=bodies.Delivery,
        many=True,
    )
    def list_webhook_deliveries(self, call: Call, endpoint_id: str) -> Any:
        return self._rpc(self.webhooks.list_deliveries, call.actor, endpoint_id[:100], call.query)

    @api(
        "GET",
        DELIVERY,
        summary="One delivery with its attempts",
        access=Access.ADMIN,
        tags=TAGS,
        response=bodies.Delivery,
    )
    def get_webhook_delivery(self, call: Call, delivery_id: str) -> Any:
        return self._rpc(self.webhooks.get_delivery, call.actor, delivery_id[:100])

    @api(
        "POST",
        f"{DELIVERY}/redeliver",
        summary="Send a finished delivery again (same event id and body)",
        access=Access.ADMIN,
        tags=TAGS,
        body=EmptyBody,
        response=bodies.Delivery,
        status=202,
    )
    def redeliver_webhook(self, call: Call, delivery_id: str) -> Any:
        return Reply(self._rpc(self.webhooks.redeliver, call.actor, delivery_id[:100]), 202)

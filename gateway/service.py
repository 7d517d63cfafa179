"""The nameko service ``gateway``: every route group in one service.

Run: ``python -m pasokh_common.runner gateway gateway.service:GatewayService``;
it listens on ``GATEWAY_HTTP_ADDRESS`` (default ``0.0.0.0:$GATEWAY_HTTP_PORT``, port
8000), which the runner puts in nameko's ``WEB_SERVER_ADDRESS``. It needs identity and
tickets running for most routes (sla for the SLA routes, webhooks for the webhook
routes), and nothing else to start.
"""

from __future__ import annotations

from gateway.routes.admin import AdminRoutes
from gateway.routes.auth import AccountRoutes, AuthRoutes
from gateway.routes.dead_letters import DeadLetterRoutes
from gateway.routes.ops import OpsRoutes
from gateway.routes.overview import OverviewRoutes
from gateway.routes.panel import PanelRoutes
from gateway.routes.replays import ReplayRoutes
from gateway.routes.sla import SlaRoutes
from gateway.routes.staff import StaffRoutes
from gateway.routes.tickets import TicketRoutes
from gateway.routes.webhooks import WebhookRoutes


class GatewayService(
    AuthRoutes,
    AccountRoutes,
    TicketRoutes,
    StaffRoutes,
    AdminRoutes,
    SlaRoutes,
    DeadLetterRoutes,
    ReplayRoutes,
    WebhookRoutes,
    OpsRoutes,
    PanelRoutes,
    OverviewRoutes,
):
    name = "gateway"

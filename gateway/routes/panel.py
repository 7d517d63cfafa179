"""The web panel for customers, agents and supervisors, served by the gateway.

The pages are static files (``gateway/panel/static``): an HTML shell and small
JavaScript modules that call the public ``/api/v1`` routes with the access token,
exactly as any other client does; the panel has no route of its own that reads or
changes data. These entrypoints are plain nameko HTTP routes rather than ``@api``
ones: they are not part of the JSON API (nor of its OpenAPI document), take no token
and no body. ``/`` sends a browser to ``/panel/``.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from gateway.base import GatewayBase
from gateway.errors import RouteNotFound
from gateway.panel.assets import CONTENT_SECURITY_POLICY, SHELL, Asset, load_assets
from gateway.web import Route, error_response

PANEL = "/panel/"
_ASSETS: dict[str, Asset] = load_assets()


def asset_response(request: Request, asset: Asset) -> Response:
    """The file, or 304 when the browser already has this version."""
    if asset.etag in request.if_none_match:
        response = Response(status=304)
    else:
        response = Response(asset.data, content_type=asset.content_type)
    response.set_etag(asset.etag)
    response.headers["Cache-Control"] = asset.cache_control
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


class PanelRoutes(GatewayBase):
    @Route.decorator("GET", "/")
    def panel_root(self, request: Request) -> Response:
        response = Response(status=302)
        response.headers["Location"] = PANEL
        return response

    @Route.decorator("GET", PANEL)
    def panel_shell(self, request: Request) -> Response:
        return asset_response(request, _ASSETS[SHELL])

    @Route.decorator("GET", "/panel/static/<path:name>")
    def panel_static(self, request: Request, name: str) -> Any:
        asset = _ASSETS.get(name)
        if asset is None or name == SHELL:
            return error_response(RouteNotFound(f"no panel file {name[:100]!r}"), request, "")
        return asset_response(request, asset)

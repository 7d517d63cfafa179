"""nameko's per-request signature check is skipped for ``api`` routes (gateway.web's
``Route.check_signature``); these check the premise: every such endpoint takes the
request and any path values, and no path variable can clash with them."""

from __future__ import annotations

import inspect

import pytest

from gateway.api import Access, api
from gateway.service import GatewayService
from gateway.web import OPEN_SIGNATURE, Route


def _route_methods(open_signature: bool) -> list:
    found = []
    for name in dir(GatewayService):
        method = getattr(GatewayService, name)
        entrypoints = getattr(method, "nameko_entrypoints", ())
        is_route = any(isinstance(e, Route) for e in entrypoints)
        if is_route and bool(getattr(method, OPEN_SIGNATURE, False)) is open_signature:
            found.append(method)
    return found


def test_every_marked_endpoint_takes_the_request_and_any_path_values():
    marked = _route_methods(open_signature=True)
    assert len(marked) > 50
    for method in marked:
        # getcallargs, which nameko's check uses, does not follow __wrapped__ either.
        spec = inspect.getfullargspec(method)
        assert spec.args == ["self", "request"], method
        assert spec.varkw and not spec.varargs and not spec.kwonlyargs, method


def test_routes_declared_without_api_keep_the_check():
    assert _route_methods(open_signature=False)  # the panel's pages


@pytest.mark.parametrize("path", ["/x/<request>", "/x/<string:self>", "/x/<int:request>/y"])
def test_a_path_variable_clashing_with_the_endpoint_s_own_parameters_is_refused(path: str):
    with pytest.raises(ValueError, match="path variable"):
        api("GET", path, summary="s", access=Access.PUBLIC, tags=("t",))

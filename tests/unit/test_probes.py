"""Readiness: only between start and stop, and only while every dependency answers;
liveness never depends on them."""

from __future__ import annotations

from pasokh_common.metrics import Readiness, build_app


def call(app, path: str) -> tuple[str, bytes]:
    seen: dict = {}

    def start_response(status, headers):
        seen["status"] = status

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return seen["status"], body


def test_not_ready_before_start_and_after_stop():
    readiness = Readiness()
    app = build_app(readiness)
    assert call(app, "/readyz")[0].startswith("503")
    readiness.set_ready()
    assert call(app, "/readyz")[0].startswith("200")
    readiness.set_not_ready()
    assert call(app, "/readyz")[0].startswith("503")


def test_a_failing_dependency_makes_it_unready_but_still_alive():
    readiness = Readiness()
    broker_up = {"value": True}

    def broker() -> None:
        if not broker_up["value"]:
            raise ConnectionError("broker down")

    readiness.add_check("broker", broker)
    readiness.set_ready()
    app = build_app(readiness)
    assert call(app, "/readyz")[0].startswith("200")
    broker_up["value"] = False
    status, body = call(app, "/readyz")
    assert status.startswith("503") and b"broker" in body
    assert call(app, "/healthz")[0].startswith("200")

"""Token buckets, the token cache and the headers they rely on, with a movable clock."""

from __future__ import annotations

import base64
import json

import pytest

from gateway.auth import TokenCache, bearer_token, unverified_expiry
from gateway.config import GatewayConfig, RateLimit
from gateway.errors import AuthenticationRequired, InvalidToken
from gateway.ratelimit import TokenBuckets
from gateway.request_meta import client_address, request_id_from


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def token_with_exp(exp: float) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"header.{payload}.signature"


def test_a_bucket_allows_its_capacity_then_says_how_long_to_wait():
    clock = Clock()
    buckets = TokenBuckets(RateLimit(3, 60.0), clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(20.0)
    assert buckets.take("b") == 0.0  # another key has its own bucket
    clock.now += 20.0
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_buckets_are_bounded_and_forget_the_least_recent_key():
    buckets = TokenBuckets(RateLimit(1, 60.0), max_keys=2, clock=Clock())
    buckets.take("a")
    buckets.take("b")
    buckets.take("c")
    assert buckets.take("a") == 0.0  # "a" was dropped: it comes back full
    assert buckets.take("c") > 0


def test_rate_limits_parse_from_the_environment_form():
    assert RateLimit.parse("X", "20/60") == RateLimit(20, 60.0)
    assert RateLimit.parse("X", "5") == RateLimit(5, 1.0)
    assert RateLimit.parse("X", "off") is None
    for bad in ("x/60", "0/60", "5/0", "-1/5"):
        with pytest.raises(ValueError):
            RateLimit.parse("X", bad)


def test_settings_come_from_the_environment_and_are_checked(monkeypatch):
    monkeypatch.setenv("GATEWAY_PERSIAN_ONLY_DEPARTMENTS", " complaints, ,billing ")
    monkeypatch.setenv("GATEWAY_RATE_AUTH", "off")
    monkeypatch.setenv("GATEWAY_MAX_ATTACHMENTS", "3")
    config = GatewayConfig.from_env()
    assert config.persian_only_departments == {"complaints", "billing"}
    assert config.auth_rate is None
    assert config.max_multipart_bytes == 3 * 10 * 1024 * 1024 + 1024 * 1024
    monkeypatch.setenv("GATEWAY_MAX_ATTACHMENT_BYTES", str(11 * 1024 * 1024))
    with pytest.raises(ValueError):
        GatewayConfig.from_env()


def test_the_bearer_header():
    assert bearer_token({"Authorization": "Bearer abc.def.ghi"}) == "abc.def.ghi"
    assert bearer_token({"Authorization": "bearer   abc"}) == "abc"
    with pytest.raises(AuthenticationRequired) as missing:
        bearer_token({})
    assert missing.value.code == "authentication_required"
    for header in ("Basic dXNlcg==", "Bearer", "Bearer " + "a" * 5000, "Token abc"):
        with pytest.raises(InvalidToken):
            bearer_token({"Authorization": header})


def test_the_cache_keeps_a_verdict_briefly_never_past_the_tokens_expiry():
    clock = Clock()
    cache = TokenCache(5.0, clock=clock)
    actor = {"id": "u1", "role": "customer", "departments": [], "organisation_id": None}
    long_lived = token_with_exp(clock.now + 900)
    cache.put(long_lived, actor)
    assert cache.get(long_lived) == actor
    clock.now += 5.0
    assert cache.get(long_lived) is None

    expiring = token_with_exp(clock.now + 1)
    cache.put(expiring, actor)
    clock.now += 1.0
    assert cache.get(expiring) is None
    expired = token_with_exp(clock.now - 1)
    cache.put(expired, actor)
    assert cache.get(expired) is None

    cache.put(long_lived, actor)
    cache.evict(long_lived)
    assert cache.get(long_lived) is None
    assert long_lived not in repr(cache.__dict__)  # only hashes are kept


def test_the_cache_is_bounded_and_can_be_turned_off():
    clock = Clock()
    cache = TokenCache(5.0, max_entries=2, clock=clock)
    for token in ("a", "b", "c"):
        cache.put(token, {"id": token})
    assert cache.get("a") is None and cache.get("c") == {"id": "c"}
    off = TokenCache(0, clock=clock)
    off.put("a", {"id": "a"})
    assert off.get("a") is None
    assert unverified_expiry("garbage") is None


def test_request_ids_and_client_addresses():
    assert request_id_from({"X-Request-ID": "abc-123_x.y:z"}) == "abc-123_x.y:z"
    for bad in ("", "has space", "x" * 200, "<script>"):
        made = request_id_from({"X-Request-ID": bad})
        assert made != bad and len(made) == 32
    environ = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4, 10.0.0.9"}
    assert client_address(environ, 0) == "10.0.0.5"
    assert client_address(environ, 1) == "10.0.0.9"
    assert client_address(environ, 2) == "1.2.3.4"  # the client's own entries are not trusted
    assert client_address({"REMOTE_ADDR": "10.0.0.5"}, 1) == "10.0.0.5"

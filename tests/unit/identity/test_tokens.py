"""Access tokens: what they carry, and every way a bad one is refused."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.identity.domain.errors import InvalidToken, TokenExpired
from services.identity.tokens import (
    TokenIssuer,
    new_refresh_token,
    refresh_token_digest,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SECRET = "s" * 64
ISSUER = TokenIssuer(SECRET, timedelta(minutes=15))
USER = str(uuid.uuid4())


def issue(**overrides):
    args = {
        "user_id": USER,
        "role": "agent",
        "departments": ["sales", "finance"],
        "organisation_id": None,
        "session_version": 3,
        "now": NOW,
    }
    return ISSUER.issue(**{**args, **overrides})


def raw_claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_the_token_carries_who_and_until_when():
    token, claims = issue()
    raw = raw_claims(token)
    assert raw["sub"] == USER and raw["role"] == "agent"
    assert raw["departments"] == ["finance", "sales"]
    assert raw["exp"] - raw["iat"] == 900
    assert uuid.UUID(raw["jti"]) and raw["sv"] == 3 and raw["organisation_id"] is None
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert ISSUER.decode(token, NOW) == claims


def test_each_token_has_its_own_id():
    assert raw_claims(issue()[0])["jti"] != raw_claims(issue()[0])["jti"]


def test_the_token_is_valid_until_its_expiry_and_not_a_second_longer():
    token, _ = issue()
    ISSUER.decode(token, NOW + timedelta(seconds=899))
    with pytest.raises(TokenExpired):
        ISSUER.decode(token, NOW + timedelta(seconds=900))


def test_a_token_from_the_future_is_refused():
    token, _ = issue(now=NOW + timedelta(hours=1))
    with pytest.raises(InvalidToken):
        ISSUER.decode(token, NOW)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_changed_payload_breaks_the_signature():
    token, _ = issue(role="customer")
    header, _payload, signature = token.split(".")
    forged = f"{header}.{_b64({**raw_claims(token), 'role': 'admin'})}.{signature}"
    with pytest.raises(InvalidToken):
        ISSUER.decode(forged, NOW)


@pytest.mark.parametrize(
    "make",
    [
        lambda c: jwt.encode(c, "another secret of enough length!!!!", algorithm="HS256"),
        lambda c: jwt.encode(c, None, algorithm="none"),
        lambda c: jwt.encode(c, SECRET, algorithm="HS512"),
        lambda c: jwt.encode({**c, "iss": "someone-else"}, SECRET, algorithm="HS256"),
        lambda c: jwt.encode({k: v for k, v in c.items() if k != "sv"}, SECRET, algorithm="HS256"),
        lambda c: jwt.encode({**c, "sub": "1 OR 1=1"}, SECRET, algorithm="HS256"),
        lambda c: jwt.encode({**c, "departments": "sales"}, SECRET, algorithm="HS256"),
        lambda c: jwt.encode({**c, "sv": "3"}, SECRET, algorithm="HS256"),
        lambda c: "not-a-jwt",
        lambda c: "",
    ],
    ids=[
        "other key",
        "alg none",
        "other algorithm",
        "other issuer",
        "missing claim",
        "sub not an id",
        "departments not a list",
        "sv not a number",
        "garbage",
        "empty",
    ],
)
def test_forged_or_malformed_tokens_are_refused(make):
    claims = raw_claims(issue()[0])
    with pytest.raises(InvalidToken) as caught:
        ISSUER.decode(make(claims), NOW)
    assert caught.value.code == "invalid_token"


def test_refresh_tokens_are_random_and_stored_as_a_digest():
    first, second = new_refresh_token(), new_refresh_token()
    assert first != second and len(first) >= 43
    assert refresh_token_digest(first) != refresh_token_digest(second)
    assert len(refresh_token_digest(first)) == 32
    assert first.encode() not in refresh_token_digest(first)

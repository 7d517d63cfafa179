"""Signatures: HMAC-SHA256 over "<timestamp>.<body>", checked as a receiver would."""

from __future__ import annotations

import hashlib
import hmac

from services.webhooks.domain.signing import (
    new_secret,
    signature,
    signature_header,
    verify,
)

BODY = '{"id":"e1","data":{"subject":"قطعی"}}'.encode()
NOW = 1_800_000_000


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"s3cret", b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert signature("s3cret", NOW, BODY) == expected
    assert signature_header(["s3cret"], NOW, BODY) == f"v1={expected}"


def test_a_receiver_accepts_a_fresh_signed_request():
    header = signature_header(["s3cret"], NOW, BODY)
    assert verify("s3cret", header, str(NOW), BODY, now=NOW + 10)


def test_tampered_body_wrong_secret_or_moved_timestamp_are_refused():
    header = signature_header(["s3cret"], NOW, BODY)
    assert not verify("s3cret", header, str(NOW), BODY + b" ", now=NOW)
    assert not verify("other", header, str(NOW), BODY, now=NOW)
    # The timestamp is signed: changing it to pass the window breaks the signature.
    assert not verify("s3cret", header, str(NOW + 1000), BODY, now=NOW + 1000)


def test_a_replay_outside_the_window_is_refused():
    header = signature_header(["s3cret"], NOW, BODY)
    assert not verify("s3cret", header, str(NOW), BODY, now=NOW + 301)
    assert not verify("s3cret", header, "not-a-number", BODY, now=NOW)


def test_during_rotation_both_secrets_verify():
    header = signature_header(["new", "old"], NOW, BODY)
    assert header.count("v1=") == 2
    assert verify("new", header, str(NOW), BODY, now=NOW)
    assert verify("old", header, str(NOW), BODY, now=NOW)
    assert not verify("neither", header, str(NOW), BODY, now=NOW)


def test_secrets_are_random_and_recognisable():
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_") and len(a) > 40

"""The per-provider token bucket: bulk waits for whole tokens, codes may borrow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify.domain.rate_limit import Bucket, RateLimit, take_bulk, take_urgent

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LIMIT = RateLimit(per_second=10, burst=10)


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_full_bucket_grants_a_burst_then_makes_bulk_wait():
    grant = take_bulk(Bucket(10, T0), T0, 25, LIMIT)
    assert grant.granted == 10
    empty = take_bulk(grant.bucket, T0, 25, LIMIT)
    assert empty.granted == 0 and abs(empty.wait_seconds - 0.1) < 1e-9


def test_tokens_refill_at_the_rate_up_to_the_burst():
    assert take_bulk(Bucket(0, T0), later(0.5), 25, LIMIT).granted == 5
    assert take_bulk(Bucket(0, T0), later(60), 25, LIMIT).granted == 10


def test_over_time_bulk_never_exceeds_the_rate():
    bucket, sent = Bucket(10, T0), 0
    for step in range(1, 101):  # ten seconds in 0.1 s steps
        grant = take_bulk(bucket, later(step / 10), 100, LIMIT)
        bucket, sent = grant.bucket, sent + grant.granted
    assert sent <= 10 + 10 * 10


def test_a_code_borrows_from_an_empty_bucket_and_bulk_repays_first():
    drained = take_bulk(Bucket(10, T0), T0, 10, LIMIT).bucket
    code = take_urgent(drained, T0, LIMIT)
    assert code.granted == 1 and code.wait_seconds == 0 and code.bucket.tokens == -1
    bulk = take_bulk(code.bucket, T0, 10, LIMIT)
    assert bulk.granted == 0 and abs(bulk.wait_seconds - 0.2) < 1e-9


def test_codes_borrow_at_most_a_burst():
    bucket = Bucket(0, T0)
    for _ in range(10):
        grant = take_urgent(bucket, T0, LIMIT)
        assert grant.granted == 1
        bucket = grant.bucket
    refused = take_urgent(bucket, T0, LIMIT)
    assert refused.granted == 0 and abs(refused.wait_seconds - 0.1) < 1e-9


def test_zero_means_unlimited():
    unlimited = RateLimit(0, 0)
    assert take_bulk(Bucket(0, T0), T0, 500, unlimited).granted == 500
    assert take_urgent(Bucket(0, T0), T0, unlimited).granted == 1

"""Verification codes: how they are made and kept, and the order of the checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.identity.domain.codes import (
    CodeCheck,
    CodePolicy,
    CodeState,
    Outcome,
    check_code,
    code_digest,
    code_matches,
    generate_code,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = CodePolicy()
KEY = b"k" * 32


def fresh(wrong_tries: int = 0, used: bool = False, expires_in: float = 120) -> CodeState:
    return CodeState(NOW + timedelta(seconds=expires_in), wrong_tries, used)


def test_codes_have_four_digits_and_keep_leading_zeros():
    assert generate_code(lambda n: 7) == "0007"
    assert generate_code(lambda n: n - 1) == "9999"
    for _ in range(200):
        code = generate_code()
        assert len(code) == 4 and code.isdigit()


def test_codes_come_from_the_whole_range():
    seen = {generate_code() for _ in range(3000)}
    assert len(seen) > 2000  # 10,000 values: a narrow generator would repeat far more


def test_a_digest_hides_the_code_and_depends_on_key_and_id():
    digest = code_digest(KEY, "id-1", "1234")
    assert len(digest) == 32 and b"1234" not in digest
    assert digest != code_digest(KEY, "id-2", "1234")
    assert digest != code_digest(b"x" * 32, "id-1", "1234")
    assert code_matches(KEY, "id-1", "1234", digest)
    assert not code_matches(KEY, "id-1", "1235", digest)
    assert not code_matches(KEY, "id-2", "1234", digest)


def test_the_right_code_in_time_is_ok():
    assert check_code(fresh(), True, NOW, POLICY).outcome is Outcome.OK
    assert check_code(fresh(wrong_tries=4), True, NOW, POLICY).outcome is Outcome.OK


def test_each_wrong_try_counts_and_the_fifth_voids_the_code():
    state = fresh()
    for tries_left in (4, 3, 2, 1, 0):
        result = check_code(state, False, NOW, POLICY)
        assert result == CodeCheck(Outcome.WRONG_CODE, 5 - tries_left, tries_left)
        state = fresh(wrong_tries=result.wrong_tries)
    assert result.now_locked
    assert check_code(state, True, NOW, POLICY).outcome is Outcome.LOCKED


def test_a_locked_code_stays_locked_after_expiry_too():
    assert check_code(fresh(5, expires_in=-1), True, NOW, POLICY).outcome is Outcome.LOCKED


def test_expiry_is_exact():
    assert check_code(fresh(expires_in=0.001), True, NOW, POLICY).outcome is Outcome.OK
    assert check_code(fresh(expires_in=0), True, NOW, POLICY).outcome is Outcome.EXPIRED


def test_an_expired_code_counts_no_try():
    result = check_code(fresh(2, expires_in=-10), False, NOW, POLICY)
    assert (result.outcome, result.wrong_tries) == (Outcome.EXPIRED, 2)


def test_no_code_or_a_used_code_is_expired():
    assert check_code(None, False, NOW, POLICY).outcome is Outcome.EXPIRED
    assert check_code(fresh(used=True), True, NOW, POLICY).outcome is Outcome.EXPIRED


def test_the_number_of_tries_is_a_setting():
    policy = CodePolicy(max_tries=2)
    assert check_code(fresh(1), False, NOW, policy).now_locked
    assert check_code(fresh(2), True, NOW, policy).outcome is Outcome.LOCKED


@pytest.mark.parametrize(
    "settings",
    [
        {"lifetime": timedelta(0)},
        {"max_tries": 0},
        {"cooldown": timedelta(seconds=-1)},
        {"per_hour_per_phone": 0},
        {"per_hour_per_address": 0},
    ],
)
def test_a_policy_that_would_disable_a_limit_is_refused(settings):
    with pytest.raises(ValueError):
        CodePolicy(**settings)

"""Custom request headers an admin may add to an endpoint."""

from __future__ import annotations

import pytest

from services.webhooks.domain.headers import InvalidHeaders, check_headers


def test_custom_headers_are_kept_as_given():
    given = {"Authorization": "Bearer abc", "X-Team": "billing"}
    assert check_headers(given) == given
    assert check_headers({}) == {}


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Pasokh-Signature": "v1=forged"},
        {"x-pasokh-timestamp": "1"},
        {"Content-Type": "text/plain"},
        {"Host": "elsewhere"},
        {"Bad Name": "x"},
        {"X-Split": "a\r\nX-Injected: b"},
        {"X-Empty": ""},
        {"X-Long": "v" * 1001},
        {"X-A": "1", "x-a": "2"},
        {f"X-{i}": "v" for i in range(11)},
    ],
)
def test_custom_headers_cannot_touch_ours_or_break_the_request(headers):
    with pytest.raises(InvalidHeaders):
        check_headers(headers)

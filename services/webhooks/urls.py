"""Which endpoint URLs an admin may register.

HTTPS only, so the signed body and the secret-derived signature do not cross the
network in clear; plain http only for hosts listed in ``WEBHOOKS_ALLOW_HTTP_HOSTS``
(a developer's machine). No credentials in the URL (they would sit in logs and in
the admin list); no fragment (never sent anyway).
"""

from __future__ import annotations

import urllib.parse

from services.webhooks.errors import invalid


def check_url(url: str, allow_http_hosts: tuple[str, ...]) -> str:
    try:
        parts = urllib.parse.urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError on a port that is not a number)
    except ValueError:
        raise invalid("url", "نشانی معتبر نیست.", "Not a valid URL.") from None
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        raise invalid("url", "نشانی معتبر نیست.", "Not a valid URL.")
    if parts.scheme == "http" and host not in allow_http_hosts:
        raise invalid(
            "url",
            "نشانی باید با https آغاز شود.",
            "The URL must use https (plain http is only for hosts in WEBHOOKS_ALLOW_HTTP_HOSTS).",
        )
    if parts.username or parts.password:
        raise invalid(
            "url",
            "نام کاربری و گذرواژه را در نشانی نگذارید؛ از امضای درخواست استفاده کنید.",
            "Do not put credentials in the URL; verify the signature instead.",
        )
    if parts.fragment:
        raise invalid("url", "نشانی نباید # داشته باشد.", "The URL must not have a fragment.")
    return urllib.parse.urlunsplit(parts)

"""Phone numbers as notify handles them: E.164 inside, masked in anything people read."""

from __future__ import annotations

from pasokh_common.text import normalise_mobile, normalise_number


def mask(phone: str | None) -> str | None:
    """``+98912*****67``-style: the country and operator prefix and last two digits, so
    staff can tell numbers apart without reading one out."""
    if not phone:
        return phone
    keep_head, keep_tail = (6, 2) if len(phone) > 9 else (1, 2)
    hidden = len(phone) - keep_head - keep_tail
    return phone[:keep_head] + "*" * max(0, hidden) + phone[-keep_tail:]


def to_e164(phone: str) -> str | None:
    """Iranian mobiles in any typed form, or an already international ``+...`` number."""
    iranian = normalise_mobile(phone)
    if iranian:
        return iranian
    digits = normalise_number(phone)
    if digits.startswith("+") and digits[1:].isdigit() and 8 <= len(digits) <= 16:
        return digits
    return None


def national_iranian(e164: str) -> str:
    """``+989121234567`` -> ``09121234567`` (Kavenegar's receptor form); other
    countries as ``00<digits>``."""
    if e164.startswith("+98"):
        return "0" + e164[3:]
    return "00" + e164.lstrip("+")

"""How many SMS parts a text costs, counted the way the network counts them.

An SMS carries 140 octets. Text that fits the GSM 03.38 alphabet is packed as 7-bit
septets: 160 per message, or 153 per part once split (the concatenation header takes
the rest). Anything else (every Persian text) goes as UCS-2: 70 UTF-16 units, or 67
per part. Two details change the count and are easy to get wrong:

* the GSM extension characters (``^ { } \\ [ ~ ] | €`` and form feed) cost two septets
  (an escape plus the character), and a part never ends between the two;
* a character outside the Basic Multilingual Plane (an emoji) is two UTF-16 units, and
  a part never ends between the halves of a surrogate pair.

So parts are filled greedily character by character, never by dividing a length.
Providers bill per part, and we refuse templates that render over a set number of
parts, so this count is the cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# GSM 03.38 basic character set (the escape 0x1B itself is not a character of text).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus itself.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class Segments:
    """``units`` are septets (GSM-7) or UTF-16 code units (UCS-2)."""

    encoding: Encoding
    units: int
    parts: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm7_cost(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _ucs2_cost(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _fill(text: str, cost, single: int, part: int) -> tuple[int, int]:
    """(total units, parts) when ``text`` is cut into parts of at most ``part`` units
    without splitting a character, or one part if it all fits in ``single``."""
    costs = [cost(ch) for ch in text]
    total = sum(costs)
    if total == 0:
        return 0, 0
    if total <= single:
        return total, 1
    parts, used = 1, 0
    for unit in costs:
        if used + unit > part:
            parts, used = parts + 1, 0
        used += unit
    return total, parts


def count_segments(text: str) -> Segments:
    """The encoding a phone would use for ``text`` and the parts it needs."""
    if is_gsm7(text):
        units, parts = _fill(text, _gsm7_cost, GSM7_SINGLE, GSM7_PART)
        return Segments(Encoding.GSM7, units, parts)
    units, parts = _fill(text, _ucs2_cost, UCS2_SINGLE, UCS2_PART)
    return Segments(Encoding.UCS2, units, parts)

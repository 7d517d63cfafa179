"""Persian-first text normalisation applied at every boundary that takes text.

Arabic Yeh/Kaf (and their forms) become Persian, so a search for «کیف» finds text
typed on an Arabic keyboard. Persian and Arabic-Indic digits become ASCII only
where a number is meant (phone numbers, codes, ticket numbers); prose keeps its
digits. ZWNJ (U+200C) is part of Persian spelling and is kept.
"""

from __future__ import annotations

import re
import unicodedata

_LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",  # ARABIC LETTER YEH -> FARSI YEH
        "\u0649": "\u06cc",  # ALEF MAKSURA -> FARSI YEH
        "\u0643": "\u06a9",  # ARABIC LETTER KAF -> KEHEH
        "\u0629": "\u0647",  # TEH MARBUTA -> HEH
    }
)
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# Zero-width and direction marks that sneak in from copy-paste; ZWNJ is not among them.
_INVISIBLE = re.compile("[\u200b\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")


def normalise_text(text: str) -> str:
    """For prose (subjects, bodies): letters unified, stray marks removed, ZWNJ kept."""
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_LETTERS)
    text = _INVISIBLE.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def to_ascii_digits(text: str) -> str:
    return text.translate(_DIGITS)


def normalise_number(text: str) -> str:
    """For things that are numbers to a machine: digits only, any script, no separators."""
    return re.sub(r"[\s\-_./()]", "", to_ascii_digits(text))


def normalise_mobile(text: str) -> str | None:
    """An Iranian mobile in canonical +989xxxxxxxxx form, or None if it is not one."""
    digits = normalise_number(text).lstrip("+")
    if digits.startswith("0098"):
        digits = digits[4:]
    elif digits.startswith("98"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    if re.fullmatch(r"9\d{9}", digits):
        return "+98" + digits
    return None

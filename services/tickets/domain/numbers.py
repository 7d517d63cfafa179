"""Ticket numbers people can read over the phone: eight digits, shown as ``1234-5678``.

Why this shape:

* Eight digits are short enough to dictate and to type on a phone keypad, and a
  customer may type them with Persian or Arabic digits, spaces or dashes: all are
  accepted (``parse_ticket_number``).
* The first seven digits are the database sequence value passed through a bijective
  scramble, an affine permutation of ``0 .. 8,999,999`` shifted into
  ``1,000,000 .. 9,999,999``: ``body = 1,000,000 + (A * s + B) mod 9,000,000`` with
  ``A`` coprime to 9,000,000, so every sequence value gets a different number and
  tickets opened one after another do not get neighbouring numbers. This hides the
  ticket volume and stops "my number plus one" guesses; it is not a secret (anyone
  holding two consecutive numbers can work ``A`` out), and it needs not be: who may
  see a ticket is decided by ``Ticket.can_view``, never by knowing its number.
  Capacity: 9,000,000 numbers (sequence values 1 .. 9,000,000).
* The eighth digit is a Damm check digit. The Damm algorithm (a totally
  anti-symmetric quasigroup of order 10) detects **every single-digit error** and
  **every transposition of two adjacent digits**, the two mistakes people make most
  when reading or typing numbers, so a mistyped number is rejected rather than
  leading to someone else's ticket. The unit tests check both properties.
"""

from __future__ import annotations

import math
import re
import unicodedata

from pasokh_common.text import normalise_number

BODY_MIN = 1_000_000
BODY_SPAN = 9_000_000  # bodies are BODY_MIN .. BODY_MIN + BODY_SPAN - 1 (seven digits)
MULTIPLIER = 5_562_307  # about 0.618 * BODY_SPAN; coprime to 2**6 * 3**2 * 5**6
OFFSET = 3_141_593
MAX_SEQUENCE = BODY_SPAN

assert math.gcd(MULTIPLIER, BODY_SPAN) == 1, "the scramble must be a permutation"

# Damm's operation table: a totally anti-symmetric quasigroup of order 10 with a zero
# diagonal (H. M. Damm, 2004).
DAMM_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_CANONICAL = re.compile(r"[1-9][0-9]{7}")
# Dashes people paste from word processors, and Persian keyboards' tatweel.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212\u0640", "-"))


def damm_check_digit(digits: str) -> str:
    """The digit that, appended, makes ``damm_is_valid`` true."""
    interim = 0
    for ch in digits:
        interim = DAMM_TABLE[interim][int(ch)]
    return str(interim)


def damm_is_valid(digits: str) -> bool:
    """True when the last digit is the Damm check digit of the others."""
    return damm_check_digit(digits) == "0"


def ticket_number_for(sequence_value: int) -> str:
    """The eight-digit number of the ticket that took ``sequence_value`` (1, 2, ...)."""
    if isinstance(sequence_value, bool) or not isinstance(sequence_value, int):
        raise TypeError("sequence_value must be an int")
    if not 1 <= sequence_value <= MAX_SEQUENCE:
        raise ValueError(f"sequence_value must be in 1..{MAX_SEQUENCE}, got {sequence_value}")
    body = str(BODY_MIN + (MULTIPLIER * sequence_value + OFFSET) % BODY_SPAN)
    return body + damm_check_digit(body)


def format_ticket_number(number: str | int) -> str:
    """``12345678`` -> ``1234-5678``: two groups of four are easy to read out."""
    digits = normalise_number(str(number))
    if not re.fullmatch(r"[0-9]{8}", digits):
        raise ValueError(f"a ticket number has eight digits, got {number!r}")
    return f"{digits[:4]}-{digits[4:]}"


def parse_ticket_number(text: str) -> str | None:
    """What a person typed -> the canonical eight digits, or None when it cannot be a
    ticket number (wrong length, not digits, or a failed check digit: a typo)."""
    if not isinstance(text, str):
        return None
    # Direction marks and ZWNJ come along when a number is copied out of Persian text.
    visible = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    digits = normalise_number(visible.translate(_DASHES).strip().lstrip("#"))
    if not _CANONICAL.fullmatch(digits) or not damm_is_valid(digits):
        return None
    return digits

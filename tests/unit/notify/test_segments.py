"""SMS part counting, as the network counts (GSM-7 160/153, UCS-2 70/67)."""

from __future__ import annotations

import pytest

from services.notify.domain.segments import Encoding, count_segments

PERSIAN = "س"


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)]
)
def test_gsm7_text_fills_160_then_153_per_part(length, parts):
    segments = count_segments("a" * length)
    assert (segments.encoding, segments.units, segments.parts) == (Encoding.GSM7, length, parts)


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_persian_text_is_ucs2_70_then_67_per_part(length, parts):
    segments = count_segments(PERSIAN * length)
    assert (segments.encoding, segments.units, segments.parts) == (Encoding.UCS2, length, parts)


def test_extension_characters_cost_two_septets():
    assert count_segments("{" * 80).parts == 1  # 160 septets
    assert count_segments("{" * 81).units == 162
    assert count_segments("€" * 81).parts == 2


def test_an_escape_pair_is_never_split_between_parts():
    # 306 septets would be two full parts, but the '{' cannot straddle the boundary.
    text = "a" * 152 + "{" + "a" * 152
    assert count_segments(text).units == 306
    assert count_segments(text).parts == 3


def test_a_surrogate_pair_is_never_split_between_parts():
    text = PERSIAN * 66 + "😀" + PERSIAN * 66
    segments = count_segments(text)
    assert (segments.units, segments.parts) == (134, 3)


def test_one_character_outside_gsm7_makes_the_whole_text_ucs2():
    segments = count_segments("a" * 100 + "ی")
    assert (segments.encoding, segments.parts) == (Encoding.UCS2, 2)


def test_zwnj_counts_as_one_ucs2_unit():
    assert count_segments("می\u200cخواهم").units == 8  # 7 letters and the ZWNJ


def test_gsm7_covers_its_accented_letters_and_newlines():
    assert count_segments("Café àé\n£").encoding is Encoding.GSM7
    assert count_segments("ç").encoding is Encoding.UCS2  # only capital Ç is in GSM-7


def test_empty_text_has_no_parts():
    assert count_segments("").parts == 0

"""Telling Persian in Latin letters from English and from Persian script."""

from __future__ import annotations

import pytest

from gateway.script import LATIN_SCRIPT_PERSIAN, is_latin_script_persian, script_flags


@pytest.mark.parametrize(
    "text",
    [
        "salam, ghabzam pardakht nashode",
        "moshkel dar pardakht",
        "Lotfan peygiri konid, mamnoon",
        "salam",
        "man nemitoonam vared hesabam besham, lotfan komak konid",
    ],
)
def test_finglish_is_recognised(text):
    assert is_latin_script_persian(text)


@pytest.mark.parametrize(
    "text",
    [
        "Payment problem",
        "The man lost his key and cannot log in to the app",
        "My bill was not paid, please help.",
        "سلام، قبض من پرداخت نشده",
        "سلام، اپلیکیشن Snapp روی iPhone باز نمی‌شود",
        "Order 12345678",
        "",
        None,
        "OK",
    ],
)
def test_english_persian_and_codes_are_not(text):
    assert not is_latin_script_persian(text)


def test_flags_for_the_agent():
    assert script_flags("سلام", "salam, lotfan zood javab bedid") == [LATIN_SCRIPT_PERSIAN]
    assert script_flags("سلام", None) == []

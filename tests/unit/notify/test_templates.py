"""Templates: the seeded defaults, rendering, and the checks an admin's edit must pass."""

from __future__ import annotations

import re
from pathlib import Path

from pasokh_common.errors import ValidationFailed

import pytest

from services.notify.domain.segments import Encoding
from services.notify.domain.templates import (
    LANGUAGES,
    PLACEHOLDERS,
    check_syntax,
    check_template,
    placeholders_in,
    render,
)

MIGRATION = (
    Path(__file__).resolve().parents[3] / "services" / "notify" / "migrations" / "0001_notify.sql"
)
LONG_PUBLIC_URL = "https://support.example-company.ir"
_SEED = re.compile(r"\('(\w+)', '(fa|en)', E'((?:[^'\\]|\\.|'')*)'\)")


def seeded() -> dict[tuple[str, str], str]:
    text = MIGRATION.read_text(encoding="utf-8")
    return {
        (name, lang): body.replace("\\n", "\n").replace("''", "'")
        for name, lang, body in _SEED.findall(text)
    }


def test_every_template_is_seeded_in_persian_and_english():
    assert set(seeded()) == {(name, lang) for name in PLACEHOLDERS for lang in LANGUAGES}


@pytest.mark.parametrize(("key", "body"), sorted(seeded().items()))
def test_each_default_passes_the_edit_check_within_three_parts(key, body):
    name, language = key
    segments = check_template(name, body, 3, LONG_PUBLIC_URL, language)
    expected = Encoding.UCS2 if language == "fa" else Encoding.GSM7
    assert segments.encoding is expected
    assert placeholders_in(body) <= PLACEHOLDERS[name]


def test_codes_fit_one_part_in_english_and_two_in_persian():
    bodies = seeded()
    assert (
        check_template("verification_code", bodies[("verification_code", "en")], 1, "").parts == 1
    )
    assert (
        check_template("verification_code", bodies[("verification_code", "fa")], 2, "").parts <= 2
    )


def test_rendering_fills_placeholders_and_keeps_literal_braces():
    assert render("{{x}} {number} {ticket_url}", {"number": "1234-5678"}) == "{x} 1234-5678 "


@pytest.mark.parametrize(
    "body",
    [
        "code {code}",  # not a placeholder of ticket_opened
        "{number!r}",
        "{number:>10}",
        "{number.real}",
        "{}",
        "unbalanced {number",
        "   ",
        "x" * 1001,
    ],
)
def test_bad_edits_are_refused_with_a_reason(body):
    with pytest.raises(ValidationFailed) as caught:
        check_syntax("ticket_opened", body)
    assert set(caught.value.fields["body"][0]) == {"fa", "en"}


def test_an_edit_that_would_render_over_the_part_limit_is_refused():
    body = "س" * 140 + " {number}"  # 150 UCS-2 units with the number: 3 parts
    with pytest.raises(ValidationFailed):
        check_template("ticket_opened", body, max_parts=2, public_url="")
    assert check_template("ticket_opened", body, max_parts=3, public_url="").parts == 3


def test_unknown_templates_are_refused():
    with pytest.raises(ValidationFailed):
        check_syntax("newsletter", "hello")

"""docs/events.md is the catalogue other teams read: it must match the code."""

from tools.gen_events_doc import DOC_PATH, render


def test_event_catalogue_matches_the_event_classes():
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/events.md is out of date: run `python -m tools.gen_events_doc`"
    )


def test_catalogue_lists_every_event_type_and_its_fields():
    text = render()
    for name in ("TicketOpened", "TicketClaimed", "ReplyPosted", "SatisfactionRated"):
        assert f"### `{name}`" in text
    assert "| `customer_id` |" in text

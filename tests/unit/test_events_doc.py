"""docs/events.md is the catalogue other teams read: it must match the code."""

from tools.contracts import all_contracts
from tools.gen_events_doc import DOC_PATH, render


def test_event_catalogue_matches_the_event_classes():
    assert DOC_PATH.read_text(encoding="utf-8") == render(), (
        "docs/events.md is out of date: run `python -m tools.contracts`"
    )


def test_catalogue_lists_every_event_type_and_its_fields():
    text = render()
    for name in ("TicketOpened", "TicketClaimed", "ReplyPosted", "SatisfactionRated"):
        assert f"### `{name}`" in text
    assert "| `customer_id` |" in text


def test_catalogue_covers_identity_sla_and_notify_with_their_exchanges():
    text = render()
    for exchange in ("tickets.events", "identity.events", "sla.events", "notify.events"):
        assert f"(exchange `{exchange}`)" in text
    for contract in all_contracts():
        assert f"### `{contract.type}` (schema version {contract.version})" in text
    assert "| `deadline` | string: ISO-8601 UTC time or null |" in text  # SLA, on the wire
    assert "| `permanent` | boolean |" in text  # notify
    assert "Each item of `targets`:" in text  # nested objects get their own table

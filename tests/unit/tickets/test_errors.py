"""Error codes are part of the API: clients and translations key on them."""

from __future__ import annotations

import re

from pasokh_common.errors import PasokhError

import pytest

from services.tickets.domain import errors
from services.tickets.domain.errors import ALL_TICKET_ERRORS, TicketError

EXPECTED = {
    "InvalidTicketData": ("invalid_ticket_data", 400),
    "EmptyBody": ("empty_body", 400),
    "TooManyAttachments": ("too_many_attachments", 400),
    "AttachmentTooLarge": ("attachment_too_large", 413),
    "TicketNotVisible": ("ticket_not_found", 404),
    "NotPermitted": ("not_permitted", 403),
    "NotInDepartment": ("not_in_department", 403),
    "AlreadyClaimed": ("already_claimed", 409),
    "ClaimedByAnotherAgent": ("claimed_by_another_agent", 409),
    "NotClaimed": ("not_claimed", 409),
    "TicketIsClosed": ("ticket_is_closed", 409),
    "TicketNotClosed": ("ticket_not_closed", 409),
    "ReopenWindowExpired": ("reopen_window_expired", 409),
    "TicketWasMerged": ("ticket_was_merged", 409),
    "SameDepartment": ("same_department", 409),
    "SamePriority": ("same_priority", 409),
    "CannotMergeIntoItself": ("cannot_merge_into_itself", 409),
    "MergeTargetClosed": ("merge_target_closed", 409),
    "MergeAcrossCustomers": ("merge_across_customers", 409),
    "AlreadyRated": ("already_rated", 409),
    "RatingNotAllowed": ("rating_not_allowed", 409),
}
PERSIAN_LETTERS = re.compile("[\u0600-\u06ff]")
ARABIC_YEH_OR_KAF = re.compile("[\u064a\u0643]")


def test_every_refusal_has_its_code_and_http_status():
    actual = {cls.__name__: (cls.code, cls.http_status) for cls in ALL_TICKET_ERRORS}
    assert actual == EXPECTED


def test_every_refusal_in_the_module_is_listed():
    defined = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, TicketError) and obj is not TicketError
    }
    assert defined == set(ALL_TICKET_ERRORS)


def test_codes_are_unique_snake_case():
    codes = [cls.code for cls in ALL_TICKET_ERRORS]
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in codes)


@pytest.mark.parametrize("cls", ALL_TICKET_ERRORS, ids=lambda c: c.__name__)
def test_every_refusal_speaks_persian_and_english(cls):
    error = cls()
    assert isinstance(error, PasokhError)
    assert PERSIAN_LETTERS.search(error.message_fa)
    assert not ARABIC_YEH_OR_KAF.search(error.message_fa)  # Persian ی and ک, not Arabic
    assert error.message_en and error.message_en != TicketError.message_en
    assert error.message_fa != TicketError.message_fa
    body = error.to_dict()
    assert body["code"] == cls.code
    assert body["message"] == {"fa": error.message_fa, "en": error.message_en}


def test_an_empty_body_is_also_invalid_ticket_data():
    assert issubclass(errors.EmptyBody, errors.InvalidTicketData)


def test_persian_numbers_in_messages_use_persian_digits():
    assert errors.fa_number(20000) == "۲۰۰۰۰"

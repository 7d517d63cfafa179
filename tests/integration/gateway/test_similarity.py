"""The duplicate check's query (services/tickets/similarity.py) on a real tickets
database: Persian normalisation, and which tickets count as candidates."""

from __future__ import annotations

import uuid

import pasokh_common  # noqa: F401
from pasokh_common.errors import PasokhError

import pytest

from services.tickets.application import TicketCommands
from services.tickets.similarity import similar_open_tickets

pytestmark = pytest.mark.integration


def customer() -> dict:
    return {"id": str(uuid.uuid4()), "role": "customer", "departments": [], "organisation_id": None}


@pytest.fixture
def commands(tickets_pool) -> TicketCommands:
    return TicketCommands(tickets_pool)


def opened(
    commands: TicketCommands, actor: dict, subject: str, department: str = "billing"
) -> dict:
    return commands.open_ticket(
        actor, {"department": department, "subject": subject, "body": "متن"}
    )


def numbers(pool, actor: dict, subject: str, department: str = "billing", **extra) -> list[str]:
    params = {"department": department, "subject": subject, **extra}
    return [t["number"] for t in similar_open_tickets(pool, actor, params)["items"]]


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("مشکل در پرداخت قبض برق", "مشكل در پرداخت قبض برق"),  # Arabic Kaf
        ("نمی‌توانم وارد حسابم شوم", "نميتوانم وارد حسابم شوم"),  # no ZWNJ, Arabic Yeh
        ("قبض شماره ۱۲۳۴۵ پرداخت نشد", "قبض شماره 12345 پرداخت نشد"),  # digits
        ("Payment failed", "payment FAILED"),  # case
    ],
)
def test_the_same_subject_typed_differently_is_the_same_key(tickets_pool, commands, stored, asked):
    actor = customer()
    ticket = opened(commands, actor, stored)
    assert numbers(tickets_pool, actor, asked, threshold=1.0) == [ticket["number"]]


def test_a_retyped_subject_with_words_added_or_dropped_is_found(tickets_pool, commands):
    actor = customer()
    ticket = opened(commands, actor, "مشکل در پرداخت قبض برق")
    assert numbers(tickets_pool, actor, "مشکل پرداخت قبض برق ماه گذشته") == [ticket["number"]]
    assert numbers(tickets_pool, actor, "مشکل پرداخت قبض برق ماه گذشته", threshold=0.9) == []


def test_only_open_unmerged_tickets_of_this_customer_and_department_count(tickets_pool, commands):
    actor, other = customer(), customer()
    subject = "قطعی اینترنت در ساعات شب"
    closed = opened(commands, actor, subject)
    commands.close(actor, {"ticket_id": closed["ticket_id"]})
    opened(commands, other, subject)
    opened(commands, actor, subject, department="sales")
    assert numbers(tickets_pool, actor, subject) == []
    assert numbers(tickets_pool, actor, "درخواست فاکتور رسمی") == []
    live = opened(commands, actor, subject)
    found = similar_open_tickets(tickets_pool, actor, {"department": "billing", "subject": subject})
    [item] = found["items"]
    assert (item["number"], item["similarity"], item["status"]) == (
        live["number"],
        1.0,
        "unanswered",
    )
    assert item["number_display"] == f"{live['number'][:4]}-{live['number'][4:]}"
    # A stricter threshold leaves out a looser match.
    assert numbers(tickets_pool, actor, "قطعی اینترنت", threshold=0.9) == []


def test_staff_name_the_customer_and_must_work_in_the_department(tickets_pool, commands):
    actor = customer()
    ticket = opened(commands, actor, "بازگشت وجه سفارش")
    agent = {"id": "agent-1", "role": "agent", "departments": ["billing"], "organisation_id": None}
    assert numbers(tickets_pool, agent, "بازگشت وجه سفارش", customer_id=actor["id"]) == [
        ticket["number"]
    ]
    with pytest.raises(PasokhError) as missing:
        numbers(tickets_pool, agent, "بازگشت وجه سفارش")
    assert missing.value.code == "validation_failed"
    outsider = {**agent, "departments": ["sales"]}
    with pytest.raises(PasokhError) as refused:
        numbers(tickets_pool, outsider, "بازگشت وجه سفارش", customer_id=actor["id"])
    assert refused.value.code == "not_in_department"
    with pytest.raises(PasokhError) as nosy:
        numbers(tickets_pool, customer(), "بازگشت وجه سفارش", customer_id=actor["id"])
    assert nosy.value.code == "not_permitted"


def test_the_subject_trigram_index_exists_and_serves_similarity_searches(tickets_pool):
    with tickets_pool.connection() as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN SELECT ticket_id FROM tickets.ticket_summary"
            " WHERE tickets.subject_key(subject) %% tickets.subject_key(%s)",
            ("مشکل پرداخت",),
        ).fetchall()
    assert "ticket_summary_subject_trgm" in " ".join(str(row) for row in plan)


def test_only_the_most_recently_updated_open_tickets_are_compared(tickets_pool, commands):
    from services.tickets.similarity import MAX_CANDIDATES

    someone = customer()
    oldest = opened(commands, someone, "قطعی اینترنت در شعبهٔ مرکزی")
    for n in range(MAX_CANDIDATES):
        opened(commands, someone, f"موضوع دیگر شمارهٔ {n} {uuid.uuid4().hex}")
    # The oldest open ticket is beyond the bound: a duplicate of it is not found...
    assert numbers(tickets_pool, someone, "قطعی اینترنت در شعبه مرکزی") == []
    # ...until it is among the most recent again (a reply by the customer updates it).
    commands.post_reply(someone, {"ticket_id": oldest["ticket_id"], "body": "هنوز قطع است"})
    assert numbers(tickets_pool, someone, "قطعی اینترنت در شعبه مرکزی") == [oldest["number"]]


def test_the_candidates_come_in_order_from_their_own_index(tickets_pool):
    """The check reads the customer's open tickets of the department newest first from
    ``ticket_summary_open_by_customer`` (migration 0011): no sort, and no walk over the
    department's queue, however large either grows."""
    from services.tickets.similarity import SIMILAR_OPEN_TICKETS

    with tickets_pool.connection() as conn:
        conn.execute("SET enable_seqscan = off")
        plan = " ".join(
            str(row["QUERY PLAN"])
            for row in conn.execute(
                "EXPLAIN " + SIMILAR_OPEN_TICKETS,
                {
                    "subject": "مشکل پرداخت",
                    "customer_id": str(uuid.uuid4()),
                    "department": "billing",
                    "threshold": 0.5,
                    "limit": 3,
                },
            ).fetchall()
        )
    assert "ticket_summary_open_by_customer" in plan, plan
    assert "ticket_summary_queue" not in plan, plan
    assert "Sort Key: ticket_summary.updated_at" not in plan, plan

"""The dispatcher's time rules on real PostgreSQL with a movable clock: quiet hours, the
rate limit, expiry, crashed senders, identity outages. The provider is the real
Kavenegar (or generic) client against its local server; identity's ``get_contact`` is
replaced by a directory of numbers (the boundary, as identity's tests replace notify).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from pasokh_common.consumer import DeliveredEvent

import pytest

from services.notify import repository as repo
from services.notify.admin import Templates
from services.notify.codes import CodeSender
from services.notify.config import HttpSettings, KavenegarSettings, NotifyConfig
from services.notify.contacts import Contact, ContactMissing, ContactUnavailable
from services.notify.context import Dependencies
from services.notify.dispatcher import Dispatcher
from services.notify.domain.idempotency import code_message_key, message_id_for
from services.notify.domain.outcomes import SendResult
from services.notify.domain.quiet_hours import QuietHours
from services.notify.domain.rate_limit import RateLimit
from services.notify.intake import Intake
from services.notify.providers.generic import HttpTemplateProvider
from services.notify.providers.kavenegar import KavenegarProvider
from tests.integration.notify.conftest import new_phone, ticket_opened
from tests.support.sms_providers import FakeGenericGateway, FakeKavenegar

pytestmark = pytest.mark.integration

# 23:00 in Tehran (UTC+03:30).
NIGHT = datetime(2026, 3, 10, 19, 30, tzinfo=UTC)
MORNING = datetime(2026, 3, 11, 4, 0, tzinfo=UTC)  # 07:30 in Tehran


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Directory:
    """Numbers by user id, or identity being down."""

    def __init__(self) -> None:
        self.people: dict[str, Contact] = {}
        self.down = False

    def add(self, language: str = "fa") -> tuple[str, str]:
        user_id, phone = str(uuid.uuid4()), new_phone()
        self.people[user_id] = Contact(phone, language)
        return user_id, phone

    def get(self, user_id: str) -> Contact:
        if self.down:
            raise ContactUnavailable("identity down")
        if user_id not in self.people:
            raise ContactMissing("user_not_found")
        return self.people[user_id]


@pytest.fixture
def kavenegar():
    server = FakeKavenegar()
    url = server.start()
    yield server, url
    server.stop()


@pytest.fixture
def world(notify_pool, kavenegar):
    server, url = kavenegar
    config = NotifyConfig(
        provider="kavenegar",
        provider_timeout=1.0,
        lease_seconds=4.0,
        kavenegar=KavenegarSettings(api_key=server.api_key, base_url=url),
        rate_limit=RateLimit(0, 0),
    )
    directory = Directory()
    deps = Dependencies(
        pool=notify_pool,
        config=config,
        provider=KavenegarProvider(config.kavenegar, config.provider_timeout),
        contacts=directory,
        clock=Clock(NIGHT),
        sleep=lambda seconds: None,
    )
    return deps, server, directory


def configured(deps: Dependencies, **changes) -> Dependencies:
    return replace(deps, config=replace(deps.config, **changes))


def open_ticket(deps: Dependencies, customer: str) -> dict:
    ticket = ticket_opened(customer)
    event = DeliveredEvent(
        str(uuid.uuid4()), "TicketOpened", ticket, MappingProxyType({}), 1, False
    )
    with deps.pool.transaction() as tx:
        Intake(deps).ticket_opened(tx, event)
    return ticket


def state(deps: Dependencies, ticket: dict) -> dict:
    with deps.pool.connection() as conn:
        [row] = repo.messages_for_ticket(conn, ticket["ticket_id"], 10)
    return row


def code_message_row(
    key: str,
    phone: str,
    now: datetime,
    *,
    user_id: str,
    lease_until: datetime,
    expires_at: datetime,
    created_at: datetime,
) -> dict:
    """A verification-code message already taken by a sender (state ``sending``,
    attempt 1), as ``repo.insert_message`` stores it."""
    return {
        "message_id": message_id_for(key),
        "idempotency_key": key,
        "template": "verification_code",
        "language": "fa",
        "urgent": True,
        "user_id": user_id,
        "ticket_id": None,
        "cause_event_id": None,
        "correlation_id": None,
        "params": {},
        "recipient": phone,
        "provider": "kavenegar",
        "state": "sending",
        "attempts": 1,
        "next_attempt_at": now,
        "lease_until": lease_until,
        "expires_at": expires_at,
        "created_at": created_at,
    }


def test_quiet_hours_hold_ticket_messages_until_morning_but_never_codes(world):
    deps, server, directory = world
    deps = configured(deps, quiet_hours=QuietHours.parse("22:00-07:30"))
    customer, phone = directory.add()
    ticket = open_ticket(deps, customer)
    assert Dispatcher(deps).tick() is None
    row = state(deps, ticket)
    assert (row["state"], row["next_attempt_at"]) == ("queued", MORNING)

    code_phone = new_phone()
    CodeSender(deps).send(
        {"user_id": "u", "phone": code_phone, "code": "1357", "purpose": "verify_phone"},
        "identity.register.1",
    )
    assert [m.text for m in server.messages_to(code_phone)] == [
        "کد تأیید پاسخ: 1357\nاین کد را به هیچ‌کس ندهید."
    ]
    assert server.messages_to(phone) == []

    deps.clock.now = MORNING
    Dispatcher(deps).tick()
    assert state(deps, ticket)["state"] == "sent" and len(server.messages_to(phone)) == 1


def test_the_rate_limit_spreads_a_burst(world):
    deps, server, directory = world
    deps = configured(deps, rate_limit=RateLimit(2, 2))
    customer, phone = directory.add()
    for _ in range(5):
        open_ticket(deps, customer)
    dispatcher = Dispatcher(deps)
    dispatcher.tick()
    assert len(server.messages_to(phone)) == 2
    assert dispatcher.tick() == pytest.approx(0.5)  # nothing until the next token
    assert len(server.messages_to(phone)) == 2
    deps.clock.advance(1)
    dispatcher.tick()
    assert len(server.messages_to(phone)) == 4
    deps.clock.advance(0.5)
    dispatcher.tick()
    assert len(server.messages_to(phone)) == 5


def test_a_message_too_old_to_matter_expires_unsent(world):
    deps, server, directory = world
    deps = configured(deps, message_ttl_seconds=60)
    customer, phone = directory.add()
    ticket = open_ticket(deps, customer)
    deps.clock.advance(61)
    Dispatcher(deps).tick()
    row = state(deps, ticket)
    assert (row["state"], row["failure_reason"]) == ("failed", "expired")
    assert server.messages_to(phone) == []


def test_a_code_whose_rpc_died_mid_call_is_failed_and_never_sent_later(world):
    deps, server, _ = world
    phone, now = new_phone(), deps.clock()
    key = "code:identity.register.dead:u-1:verify_phone"
    with deps.pool.transaction() as tx:
        repo.insert_message(
            tx,
            code_message_row(
                key,
                phone,
                now,
                user_id="u-1",
                lease_until=now - timedelta(seconds=1),
                expires_at=now,
                created_at=now - timedelta(seconds=10),
            ),
        )
    Dispatcher(deps).tick()
    with deps.pool.connection() as conn:
        [row] = repo.messages_for_user(conn, "u-1", 10)
    assert (row["state"], row["failure_reason"]) == ("failed", "interrupted")
    assert server.messages_to(phone) == []


def test_identity_down_keeps_messages_waiting_and_unknown_people_fail(world):
    deps, server, directory = world
    customer, phone = directory.add()
    ticket = open_ticket(deps, customer)
    nobody = open_ticket(deps, "no-such-user")
    directory.down = True
    Dispatcher(deps).tick()
    row = state(deps, ticket)
    assert (row["state"], row["attempts"]) == ("queued", 0)
    with deps.pool.connection() as conn:
        [waiting] = conn.execute(
            "SELECT last_error FROM notify.messages WHERE ticket_id = %s", (ticket["ticket_id"],)
        ).fetchall()
    assert "identity unavailable" in waiting["last_error"]
    directory.down = False
    deps.clock.advance(5)
    Dispatcher(deps).tick()
    assert state(deps, ticket)["state"] == "sent" and len(server.messages_to(phone)) == 1
    failed = state(deps, nobody)
    assert (failed["state"], failed["failure_reason"]) == ("failed", "no_contact")


@pytest.mark.parametrize("dedupes", [False, True])
def test_after_a_crash_a_provider_that_cannot_look_up_resends_only_if_it_dedupes(
    notify_pool, dedupes
):
    gateway = FakeGenericGateway(dedupes=dedupes)
    url = gateway.start()
    try:
        settings = HttpSettings(
            url=url + "/send",
            body="to={to}&text={text}&id={client_id}",
            authorization="Bearer gateway-token",
            dedupes=dedupes,
        )
        config = NotifyConfig(
            provider="http",
            http=settings,
            provider_timeout=1.0,
            lease_seconds=4.0,
            rate_limit=RateLimit(0, 0),
        )
        directory = Directory()
        deps = Dependencies(
            notify_pool, config, HttpTemplateProvider(settings, 1.0), directory, clock=Clock(NIGHT)
        )
        customer, phone = directory.add()
        ticket = open_ticket(deps, customer)
        release = gateway.hold(phone)
        with deps.pool.transaction() as tx:  # what a sender does before its call ...
            [claimed] = repo.claim_due(tx, NIGHT, 1, "http", NIGHT + timedelta(seconds=4))
        dispatcher = Dispatcher(deps)
        [prepared] = [dispatcher.sender.prepare(claimed, {("ticket_opened", "fa"): "{number}"})]
        with deps.pool.transaction() as tx:
            repo.fix_text(tx, prepared.row)
        deps.provider.send(prepared.outgoing)  # ... then it dies before recording this
        release.set()
        deps.clock.advance(5)  # its lease runs out
        dispatcher.tick()  # the sweep marks it uncertain
        dispatcher.tick()
        row = state(deps, ticket)
        if dedupes:
            assert row["state"] == "sent"
            assert gateway.send_requests_to(phone) == 2
        else:
            assert (row["state"], row["failure_reason"]) == ("failed", "outcome_unknown")
            assert gateway.send_requests_to(phone) == 1
        assert len(gateway.messages_to(phone)) == 1
    finally:
        gateway.stop()


def test_a_template_edit_applies_from_the_next_claim(world):
    deps, server, directory = world
    customer, phone = directory.add()
    open_ticket(deps, customer)
    dispatcher = Dispatcher(deps)
    dispatcher.tick()
    [first] = server.messages_to(phone)
    assert first.text.startswith("درخواست شما با شمارهٔ")
    Templates(deps).update(
        {"id": "admin-1", "role": "admin"},
        {"template": "ticket_opened", "language": "fa", "body": "شمارهٔ {number} ثبت شد."},
    )
    ticket = open_ticket(deps, customer)
    dispatcher.tick()  # the same process, with no restart or cache to expire
    assert server.messages_to(phone)[1].text == f"شمارهٔ {ticket['number']} ثبت شد."


def claim_and_attempt(dispatcher: Dispatcher, deps: Dependencies, n: int) -> tuple[list, list]:
    """Claim ``n`` due messages, fix their texts and send them, as the dispatcher's
    loop does, stopping before it records the outcomes."""
    with deps.pool.transaction() as tx:
        claimed = repo.claim_due(tx, NIGHT, n, "kavenegar", NIGHT + timedelta(seconds=4))
    prepared = [dispatcher.sender.prepare(row, repo.bodies_of(claimed)) for row in claimed]
    dispatcher._fix(prepared)
    return claimed, [dispatcher.sender.attempt(item) for item in prepared]


def test_a_batch_records_each_outcome_under_its_own_fence(world):
    """Two messages sent in one batch, one of them taken over meanwhile (its lease ran
    out and another sender claimed it): only the other is recorded, with its SmsSent."""
    deps, _, directory = world
    customer, _ = directory.add()
    tickets = [open_ticket(deps, customer) for _ in range(2)]
    dispatcher = Dispatcher(deps)
    claimed, attempted = claim_and_attempt(dispatcher, deps, 2)
    lost, kept = claimed
    with deps.pool.connection() as conn:  # another sender's claim of ``lost``
        conn.execute(
            "UPDATE notify.messages SET attempts = attempts + 1 WHERE message_id = %s",
            (lost["message_id"],),
        )
    dispatcher._record(attempted)
    with deps.pool.connection() as conn:
        states = {
            r["message_id"]: (r["state"], r["attempts"])
            for r in conn.execute("SELECT message_id, state, attempts FROM notify.messages")
        }
        sent = conn.execute("SELECT stream_id FROM notify.events WHERE event_type = 'SmsSent'")
        streams = [r["stream_id"] for r in sent]
    assert states[kept["message_id"]] == ("sent", 1)
    assert states[lost["message_id"]] == ("sending", 2)
    assert streams == [f"sms-{kept['message_id']}"]
    assert {t["ticket_id"] for t in tickets} == {lost["ticket_id"], kept["ticket_id"]}


def test_an_outcome_the_database_refuses_does_not_hold_back_the_rest_of_its_batch(world):
    deps, _, directory = world
    customer, _ = directory.add()
    for _ in range(2):
        open_ticket(deps, customer)
    dispatcher = Dispatcher(deps)
    _, attempted = claim_and_attempt(dispatcher, deps, 2)
    bad, good = attempted
    bad.result = SendResult.accepted(bad.result.provider_message_id, "text with a NUL \x00")
    dispatcher._record(attempted)
    with deps.pool.connection() as conn:
        states = {
            r["message_id"]: r["state"]
            for r in conn.execute("SELECT message_id, state FROM notify.messages")
        }
    assert states[good.prepared.row["message_id"]] == "sent"
    assert states[bad.prepared.row["message_id"]] == "sending"  # its lease will tell


def test_a_code_request_redelivered_while_the_first_is_recording_sends_nothing(world):
    """The first request's transaction has inserted its message and not committed
    yet; the redelivered one waits for it, then answers from its row."""
    deps, server, _ = world
    phone, now = new_phone(), deps.clock()
    request = {"user_id": "u-2", "phone": phone, "code": "2468", "purpose": "verify_phone"}
    key = code_message_key("identity.register.twice", "u-2", "verify_phone")
    first = code_message_row(
        key,
        phone,
        now,
        user_id="u-2",
        lease_until=now + timedelta(seconds=60),
        expires_at=now + timedelta(seconds=60),
        created_at=now,
    )
    answers: list = []
    with deps.pool.connection() as conn:
        with conn.transaction():
            assert repo.insert_code_message(conn, first) is not None
            again = threading.Thread(
                target=lambda: answers.append(
                    CodeSender(deps).send(request, "identity.register.twice")
                ),
                daemon=True,
            )
            again.start()
            again.join(0.5)
            assert again.is_alive(), "the redelivered request waits for the first"
    again.join(10)
    assert answers == [{"message_id": str(first["message_id"]), "state": "sending", "parts": None}]
    assert server.messages_to(phone) == []


@pytest.mark.parametrize("size", [1, 2, 50])
@pytest.mark.parametrize("change", ["sent", "retry", "failed"])
def test_a_batch_of_outcomes_of_any_size_writes_exactly_its_rows(notify_pool, change, size):
    """``record_outcomes`` (one statement text per change, whatever the batch size):
    each message whose fence holds changes as told and gets its event (version 1,
    appended in stream order); every third (from the second) was taken over (its fence is stale) and
    keeps its row and gets no event; every attempt record is written either way."""
    from psycopg.types.json import Jsonb

    from tests.integration.notify.test_intake_order import message_rows

    now = datetime(2026, 11, 25, 10, 30, 0, 654321, tzinfo=UTC)
    messages = [
        {**m, "state": "sending", "attempts": 2}
        for m in message_rows(str(uuid.uuid4()), size, [str(uuid.uuid4())])
    ]
    extra = {
        "sent": lambda n: {
            "provider_id": f"prov-{n}",
            "recipient": f"+98912000{n:04d}",
            "language": "fa",
            "encoding": "ucs2",
            "parts": n % 3 + 1,
        },
        "retry": lambda n: {"at": now + timedelta(seconds=n), "uncertain": n % 2 == 0},
        "failed": lambda n: {"reason": "invalid_number"},
    }[change]
    outcomes = []
    for n, m in enumerate(messages):
        outcomes.append(
            {
                "values": {
                    "message_id": m["message_id"],
                    "fence": 1 if n % 3 == 1 else 2,
                    "attempts": 1 if change == "retry" else 2,
                    "now": now,
                    "error": None if change == "sent" else f'error "{n}"',
                    **extra(n),
                },
                "attempts": [
                    {
                        "message_id": m["message_id"],
                        "attempt": 2,
                        "provider": "kavenegar",
                        "action": action,
                        "outcome": "accepted",
                        "reason": None,
                        "detail": f"detail {n}",
                        "started_at": now,
                        "finished_at": now + timedelta(milliseconds=n),
                    }
                    for action in (("lookup", "send") if n % 2 else ("send",))
                ],
                "event": {
                    "message_id": m["message_id"],
                    "stream_id": f"sms-{m['message_id']}",
                    "event_id": uuid.uuid4(),
                    "event_type": "SmsSent" if change == "sent" else "SmsFailed",
                    "schema_version": 1,
                    "data": Jsonb({"message_id": str(m["message_id"]), "n": n}),
                    "metadata": Jsonb({"correlation_id": f"c-{n}"}),
                }
                if change != "retry"
                else None,
            }
        )
    applied = [o for n, o in enumerate(outcomes) if n % 3 != 1]
    with notify_pool.transaction() as tx:
        repo.insert_messages(tx, messages)
    with notify_pool.connection() as conn:
        done = repo.record_outcomes(conn, change, outcomes)
        ids = [m["message_id"] for m in messages]
        rows = {
            r["message_id"]: r
            for r in conn.execute(
                "SELECT * FROM notify.messages WHERE message_id = ANY(%s)", (ids,)
            )
        }
        attempts = conn.execute(
            "SELECT message_id, attempt, provider, action, outcome, reason, detail, started_at,"
            " finished_at FROM notify.attempts WHERE message_id = ANY(%s)"
            " ORDER BY message_id, action",
            (ids,),
        ).fetchall()
        events = conn.execute(
            "SELECT stream_id, version, event_id, event_type, schema_version, data, metadata"
            " FROM notify.events WHERE stream_id = ANY(%s) ORDER BY position",
            ([f"sms-{i}" for i in ids],),
        ).fetchall()

    assert done == {o["values"]["message_id"] for o in applied}
    for n, o in enumerate(outcomes):
        v, row = o["values"], rows[o["values"]["message_id"]]
        if n % 3 == 1:
            assert (row["state"], row["attempts"], row["updated_at"]) == (
                "sending",
                2,
                messages[n]["created_at"],
            )
            continue
        assert (row["attempts"], row["lease_until"], row["updated_at"]) == (
            v["attempts"],
            None,
            now,
        )
        if change == "sent":
            assert (
                row["state"],
                row["provider_message_id"],
                row["recipient"],
                row["language"],
                row["encoding"],
                row["parts"],
                row["uncertain"],
                row["last_error"],
                row["sent_at"],
            ) == (
                "sent",
                v["provider_id"],
                v["recipient"],
                "fa",
                "ucs2",
                v["parts"],
                False,
                None,
                now,
            )
        elif change == "retry":
            assert (row["state"], row["next_attempt_at"], row["uncertain"], row["last_error"]) == (
                "queued",
                v["at"],
                v["uncertain"],
                v["error"],
            )
        else:
            assert (row["state"], row["failure_reason"], row["last_error"], row["failed_at"]) == (
                "failed",
                "invalid_number",
                v["error"],
                now,
            )
    assert attempts == sorted(
        (a for o in outcomes for a in o["attempts"]),
        key=lambda a: (a["message_id"], a["action"]),
    )
    expected = sorted(
        (o["event"] for o in applied if o["event"] is not None), key=lambda e: e["stream_id"]
    )
    assert events == [
        {
            "stream_id": e["stream_id"],
            "version": 1,
            "event_id": e["event_id"],
            "event_type": e["event_type"],
            "schema_version": 1,
            "data": e["data"].obj,
            "metadata": e["metadata"].obj,
        }
        for e in expected
    ]


def test_batches_of_every_size_share_one_prepared_statement_each(notify_pool):
    """Openings, messages and outcomes have one statement text whatever the batch
    size, so on one connection psycopg prepares each once (after its 5th run) and
    every later batch of any size uses it."""
    from services.notify.domain.planning import TicketInfo
    from tests.integration.notify.test_intake_order import message_rows

    now = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
    runs = 0
    with notify_pool.connection() as conn:
        for _ in range(4):
            for size in (1, 2, 50):
                tickets = [
                    (TicketInfo(str(uuid.uuid4()), f"P-{n}", f"c-{n}", "billing"), now)
                    for n in range(size)
                ]
                ids = [t.ticket_id for t, _ in tickets]
                opened = message_rows(str(uuid.uuid4()), size, ids)
                sending = [
                    {**m, "state": "sending", "attempts": 1}
                    for m in message_rows(str(uuid.uuid4()), size, ids)
                ]
                with conn.transaction():
                    assert repo.record_tickets_and_take_held(conn, tickets, opened) == []
                    assert repo.insert_messages(conn, sending) == size
                values = [
                    {"message_id": m["message_id"], "fence": 1, "attempts": 1, "now": now,
                     "error": "busy", "reason": "provider_refused"}
                    for m in sending
                ]  # fmt: skip
                outcomes = [{"values": v, "attempts": [], "event": None} for v in values]
                assert len(repo.record_outcomes(conn, "failed", outcomes)) == size
                runs += 1
        prepared = conn.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
        ).fetchall()

    def uses(marker: str) -> list[int]:
        return [
            p["generic_plans"] + p["custom_plans"] for p in prepared if marker in p["statement"]
        ]

    assert uses("WITH recorded AS (INSERT INTO notify.tickets") == [runs - 5]
    assert uses("changed AS (UPDATE notify.messages") == [runs - 5]
    assert [
        p["generic_plans"] + p["custom_plans"]
        for p in prepared
        if p["statement"].startswith("INSERT INTO notify.messages")
    ] == [runs - 5]

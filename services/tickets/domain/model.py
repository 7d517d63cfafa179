"""The ticket aggregate: every rule of a ticket's life, and nothing else.

State is rebuilt from the ticket's events (``from_events``/``apply``). A decision
(``claim``, ``post_reply``, ...) checks the rules against that state and returns the
NEW events; it never changes the ticket. The caller appends them to the log (with
the version it decided on, so a concurrent decision loses cleanly) and may then
``apply`` them. Keeping decisions free of I/O, clocks and id generation (ids and
``now`` come in as arguments) is what lets every rule be tested in microseconds.

Order of checks in every decision, so that errors never leak more than they should:
1. may the actor see the ticket at all (customers of other tickets: 404,
   ``TicketNotVisible``; staff of another department: ``NotInDepartment``),
2. may this actor take this action (a customer trying a staff action:
   ``NotPermitted``),
3. does the ticket's state allow it (merged, closed, claimed ...),
4. are the given values valid.

Status, assignee and the two "last message" times are independent facts: the status
says whose move it is, the assignee who holds the ticket. A customer's reply to an
answered ticket makes it ``unanswered`` even if an agent still holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from services.tickets.domain.errors import (
    AlreadyClaimed,
    AlreadyRated,
    AttachmentTooLarge,
    CannotMergeIntoItself,
    ClaimedByAnotherAgent,
    EmptyBody,
    InvalidTicketData,
    MergeAcrossCustomers,
    MergeTargetClosed,
    NotClaimed,
    NotInDepartment,
    NotPermitted,
    RatingNotAllowed,
    ReopenWindowExpired,
    SameDepartment,
    SamePriority,
    TicketIsClosed,
    TicketNotClosed,
    TicketNotVisible,
    TicketWasMerged,
    TooManyAttachments,
    fa_number,
    field_message,
)
from services.tickets.domain.events import (
    AttachmentAdded,
    DomainEvent,
    InternalNotePosted,
    PriorityChanged,
    ReplyPosted,
    SatisfactionRated,
    TicketClaimed,
    TicketClosed,
    TicketMerged,
    TicketOpened,
    TicketReleased,
    TicketReopened,
    TicketTransferred,
)
from services.tickets.domain.values import (
    Actor,
    AttachmentRef,
    Priority,
    Role,
    Status,
    TicketPolicy,
)

DEFAULT_POLICY = TicketPolicy()
MIN_SCORE, MAX_SCORE = 1, 5


class Ticket:
    """One support ticket, as its events say it is now."""

    def __init__(self) -> None:
        # A ticket with no events yet: it exists only once TicketOpened is applied.
        self.id: str | None = None
        self.number: str | None = None
        self.customer_id: str | None = None
        self.organisation_id: str | None = None
        self.department: str | None = None
        self.subject: str | None = None
        self.priority: Priority | None = None
        self.status: Status | None = None
        self.assignee_id: str | None = None
        self.version: int = 0
        self.opened_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.closed_by_role: Role | None = None
        self.last_customer_message_at: datetime | None = None
        self.last_agent_reply_at: datetime | None = None
        self.merged_into: str | None = None
        self.rating: int | None = None
        self.rating_comment: str | None = None
        self.needs_follow_up: bool = False

    def __repr__(self) -> str:
        return (
            f"Ticket(id={self.id!r}, number={self.number!r}, status={self.status!s},"
            f" department={self.department!r}, assignee_id={self.assignee_id!r},"
            f" version={self.version})"
        )

    # -- questions ------------------------------------------------------------------

    @property
    def exists(self) -> bool:
        return self.id is not None

    @property
    def is_closed(self) -> bool:
        return self.status == Status.CLOSED

    @property
    def is_merged(self) -> bool:
        return self.merged_into is not None

    def can_view(self, actor: Actor) -> bool:
        """Customers see their own tickets and their organisation's; staff see the
        tickets of the departments they work in; admins and the system see all."""
        if not self.exists:
            return False
        if actor.is_customer:
            if actor.id == self.customer_id:
                return True
            return actor.organisation_id is not None and (
                actor.organisation_id == self.organisation_id
            )
        return actor.works_in(self.department or "")

    def within_reopen_window(self, now: datetime, policy: TicketPolicy = DEFAULT_POLICY) -> bool:
        """May a customer still bring this closed ticket back (instead of a new one)?"""
        if self.closed_at is None:
            return False
        return _utc(now) <= self.closed_at + policy.reopen_window

    # -- opening ----------------------------------------------------------------------

    @staticmethod
    def open(
        *,
        ticket_id: str,
        number: str,
        message_id: str,
        actor: Actor,
        department: str,
        subject: str,
        priority: Priority | str,
        body: str,
        attachments: Sequence[AttachmentRef],
        now: datetime,
        policy: TicketPolicy = DEFAULT_POLICY,
        customer_id: str | None = None,
        organisation_id: str | None = None,
        needs_follow_up: bool = False,
    ) -> list[DomainEvent]:
        """A customer opens a ticket for themself; staff of the department may open one
        on a customer's behalf (a phone call) and then must name the customer."""
        now = _utc(now)
        if actor.is_customer:
            if customer_id not in (None, actor.id):
                raise NotPermitted("a customer opens tickets only for themself")
            if organisation_id not in (None, actor.organisation_id):
                raise NotPermitted("a customer opens tickets only for their own organisation")
            customer_id, organisation_id = actor.id, actor.organisation_id
        elif (
            isinstance(department, str)
            and department.strip()
            and not actor.works_in(department.strip())
        ):
            raise NotInDepartment(f"{actor.id} does not work in {department!r}")

        problems = _Problems()
        department = problems.department(department)
        subject = problems.subject(subject, policy)
        priority = problems.priority(priority)
        body = problems.body(body, policy)
        if not actor.is_customer and not (isinstance(customer_id, str) and customer_id.strip()):
            problems.add(
                "customer_id",
                "برای ثبت تیکت از طرف مشتری، مشتری را مشخص کنید.",
                "Name the customer this ticket is opened for.",
            )
        problems.raise_if_any()
        _check_attachments(attachments, policy)

        assert customer_id is not None  # for the type checker: checked just above
        opened = TicketOpened(
            ticket_id=ticket_id,
            number=number,
            customer_id=customer_id.strip(),
            organisation_id=organisation_id,
            department=department,
            subject=subject,
            priority=priority,
            message_id=message_id,
            body=body,
            needs_follow_up=bool(needs_follow_up),
            opened_at=now,
        )
        return [opened, *_attachment_events(ticket_id, message_id, attachments, now)]

    # -- rebuilding state ---------------------------------------------------------------

    @classmethod
    def from_events(cls, events: Iterable[DomainEvent]) -> Ticket:
        """The ticket as its history says; no events gives a ticket that does not
        exist yet (every decision on it answers ``TicketNotVisible``)."""
        ticket = cls()
        for event in events:
            ticket.apply(event)
        return ticket

    def apply(self, event: DomainEvent) -> None:
        """Change state by one event. Only the facts recorded in the event are used,
        so replaying the log always gives the same ticket."""
        if isinstance(event, TicketOpened):
            if self.exists:
                raise ValueError(f"ticket {self.id} was already opened")
        elif not self.exists:
            raise ValueError(f"a ticket's history starts with TicketOpened, not {event.TYPE}")
        elif event.ticket_id != self.id:
            raise ValueError(f"event of ticket {event.ticket_id} applied to ticket {self.id}")
        try:
            handler = _APPLIERS[type(event)]
        except KeyError:
            raise ValueError(f"the ticket does not know event {type(event).__name__}") from None
        handler(self, event)
        self.version += 1

    def _opened(self, e: TicketOpened) -> None:
        self.id = e.ticket_id
        self.number = e.number
        self.customer_id = e.customer_id
        self.organisation_id = e.organisation_id
        self.department = e.department
        self.subject = e.subject
        self.priority = e.priority
        self.needs_follow_up = e.needs_follow_up
        self.status = Status.UNANSWERED
        self.opened_at = e.opened_at
        # The opening message is the customer's, even when staff typed it for them.
        self.last_customer_message_at = e.opened_at

    def _claimed(self, e: TicketClaimed) -> None:
        self.assignee_id = e.agent_id
        if self.status == Status.UNANSWERED:
            self.status = Status.UNDER_REVIEW

    def _released(self, e: TicketReleased) -> None:
        self.assignee_id = None
        if self.status == Status.UNDER_REVIEW:
            self.status = Status.UNANSWERED

    def _replied(self, e: ReplyPosted) -> None:
        if e.author_role == Role.CUSTOMER:
            self.last_customer_message_at = e.posted_at
            if self.status == Status.ANSWERED:
                self.status = Status.UNANSWERED
        else:
            self.last_agent_reply_at = e.posted_at
            self.status = Status.ANSWERED

    def _noted(self, e: InternalNotePosted) -> None:
        pass  # an internal note changes nothing the customer or the queue sees

    def _attached(self, e: AttachmentAdded) -> None:
        pass  # the attachment belongs to its message; the ticket's state is unchanged

    def _transferred(self, e: TicketTransferred) -> None:
        self.department = e.to_department
        self.assignee_id = None
        if self.status == Status.UNDER_REVIEW:
            self.status = Status.UNANSWERED

    def _priority_changed(self, e: PriorityChanged) -> None:
        self.priority = e.to_priority

    def _closed(self, e: TicketClosed) -> None:
        self.status = Status.CLOSED
        self.closed_at = e.closed_at
        self.closed_by_role = e.closed_by_role

    def _reopened(self, e: TicketReopened) -> None:
        self.status = Status.UNANSWERED
        self.closed_at = None
        self.closed_by_role = None

    def _merged(self, e: TicketMerged) -> None:
        self.status = Status.CLOSED
        self.merged_into = e.into_ticket_id
        self.closed_at = e.merged_at
        self.assignee_id = None

    def _rated(self, e: SatisfactionRated) -> None:
        self.rating = e.score
        self.rating_comment = e.comment

    # -- who may act --------------------------------------------------------------------

    def _require_visible(self, actor: Actor) -> None:
        if self.can_view(actor):
            return
        if actor.is_staff and self.exists:
            raise NotInDepartment(f"{actor.id} does not work in {self.department!r}")
        raise TicketNotVisible(f"ticket {self.id} is not visible to {actor.id}")

    def _require_staff(self, actor: Actor) -> None:
        self._require_visible(actor)
        if not actor.is_staff:
            raise NotPermitted(f"{actor.role} may not do this")

    def _require_not_merged(self) -> None:
        if self.merged_into is not None:
            raise TicketWasMerged(
                f"ticket {self.id} was merged into {self.merged_into}",
                into_ticket_id=self.merged_into,
            )

    def _require_open(self) -> None:
        self._require_not_merged()
        if self.is_closed:
            raise TicketIsClosed(f"ticket {self.id} is closed")

    @property
    def _ticket_id(self) -> str:
        assert self.id is not None  # every decision checked existence first
        return self.id

    # -- decisions ----------------------------------------------------------------------

    def claim(self, actor: Actor, now: datetime) -> list[DomainEvent]:
        """An agent takes the ticket so colleagues do not work on it twice."""
        now = _utc(now)
        self._require_staff(actor)
        self._require_open()
        if self.assignee_id == actor.id:
            raise AlreadyClaimed(f"{actor.id} already holds ticket {self.id}")
        if self.assignee_id is not None:
            raise ClaimedByAnotherAgent(f"ticket {self.id} is held by {self.assignee_id}")
        return [self._claimed_event(actor, now)]

    def _claimed_event(self, actor: Actor, now: datetime) -> TicketClaimed:
        return TicketClaimed(
            ticket_id=self._ticket_id,
            agent_id=actor.id,
            department=self.department or "",
            claimed_at=now,
        )

    def release(self, actor: Actor, now: datetime) -> list[DomainEvent]:
        """The holder lets the ticket go, or a supervisor takes it back from them. The
        holder may release even after leaving the department, so no ticket is stuck."""
        now = _utc(now)
        holds_it = actor.is_staff and self.exists and self.assignee_id == actor.id
        if not holds_it:
            self._require_staff(actor)
        self._require_open()
        if self.assignee_id is None:
            raise NotClaimed(f"nobody holds ticket {self.id}")
        if not holds_it and not actor.can_override:
            raise ClaimedByAnotherAgent(f"ticket {self.id} is held by {self.assignee_id}")
        return [
            TicketReleased(
                ticket_id=self._ticket_id,
                agent_id=self.assignee_id,
                released_by=actor.id,
                released_at=now,
            )
        ]

    def post_reply(
        self,
        actor: Actor,
        body: str,
        attachments: Sequence[AttachmentRef],
        now: datetime,
        message_id: str,
        policy: TicketPolicy = DEFAULT_POLICY,
    ) -> list[DomainEvent]:
        """A message in the conversation. A customer's reply to a recently closed
        ticket reopens it; an agent's reply to a ticket nobody holds claims it."""
        now = _utc(now)
        self._require_visible(actor)
        self._require_not_merged()
        before: list[DomainEvent] = []
        if actor.is_customer:
            if self.is_closed:
                if not self.within_reopen_window(now, policy):
                    raise ReopenWindowExpired(f"ticket {self.id} closed at {self.closed_at}")
                before.append(self._reopened_event(actor, now))
        else:
            if self.is_closed:
                raise TicketIsClosed(f"ticket {self.id} is closed")
            if (
                self.assignee_id is not None
                and self.assignee_id != actor.id
                and not actor.can_override
            ):
                raise ClaimedByAnotherAgent(f"ticket {self.id} is held by {self.assignee_id}")
            if self.assignee_id is None and actor.role == Role.AGENT:
                before.append(self._claimed_event(actor, now))
        body = _valid_body(body, policy)
        _check_attachments(attachments, policy)
        reply = ReplyPosted(
            ticket_id=self._ticket_id,
            message_id=message_id,
            author_id=actor.id,
            author_role=actor.role,
            body=body,
            posted_at=now,
        )
        added = _attachment_events(self._ticket_id, message_id, attachments, now)
        return [*before, reply, *added]

    def post_internal_note(
        self,
        actor: Actor,
        body: str,
        now: datetime,
        message_id: str,
        policy: TicketPolicy = DEFAULT_POLICY,
    ) -> list[DomainEvent]:
        """Staff talking among themselves on the ticket; allowed on closed tickets (a
        post-mortem), not on merged ones (the conversation lives on elsewhere)."""
        now = _utc(now)
        self._require_staff(actor)
        self._require_not_merged()
        body = _valid_body(body, policy)
        return [
            InternalNotePosted(
                ticket_id=self._ticket_id,
                message_id=message_id,
                author_id=actor.id,
                author_role=actor.role,
                body=body,
                posted_at=now,
            )
        ]

    def transfer(
        self,
        actor: Actor,
        to_department: str,
        reason: str | None,
        now: datetime,
        policy: TicketPolicy = DEFAULT_POLICY,
    ) -> list[DomainEvent]:
        """Hand the ticket to another department; whoever held it lets it go."""
        now = _utc(now)
        self._require_staff(actor)
        self._require_open()
        problems = _Problems()
        to_department = problems.department(to_department, field="to_department")
        reason = problems.optional_text(reason, "reason", policy.max_reason_length)
        problems.raise_if_any()
        if to_department == self.department:
            raise SameDepartment(f"ticket {self.id} is already in {to_department!r}")
        return [
            TicketTransferred(
                ticket_id=self._ticket_id,
                from_department=self.department or "",
                to_department=to_department,
                reason=reason,
                transferred_by=actor.id,
                transferred_at=now,
            )
        ]

    def change_priority(
        self, actor: Actor, priority: Priority | str, now: datetime
    ) -> list[DomainEvent]:
        now = _utc(now)
        self._require_staff(actor)
        self._require_open()
        problems = _Problems()
        priority = problems.priority(priority)
        problems.raise_if_any()
        if priority == self.priority:
            raise SamePriority(f"ticket {self.id} already has priority {priority}")
        assert self.priority is not None
        return [
            PriorityChanged(
                ticket_id=self._ticket_id,
                from_priority=self.priority,
                to_priority=priority,
                changed_by=actor.id,
                changed_at=now,
            )
        ]

    def close(
        self,
        actor: Actor,
        now: datetime,
        reason: str | None = None,
        policy: TicketPolicy = DEFAULT_POLICY,
    ) -> list[DomainEvent]:
        """The customer (or a colleague in their organisation) or staff of the
        department declare the matter done."""
        now = _utc(now)
        self._require_visible(actor)
        self._require_open()
        problems = _Problems()
        reason = problems.optional_text(reason, "reason", policy.max_reason_length)
        problems.raise_if_any()
        return [
            TicketClosed(
                ticket_id=self._ticket_id,
                closed_by=actor.id,
                closed_by_role=actor.role,
                reason=reason,
                closed_at=now,
            )
        ]

    def reopen(
        self, actor: Actor, now: datetime, policy: TicketPolicy = DEFAULT_POLICY
    ) -> list[DomainEvent]:
        """Customers may reopen within the window (after it, the matter is new and gets
        a new ticket, with fresh SLA clocks); staff of the department at any time."""
        now = _utc(now)
        self._require_visible(actor)
        self._require_not_merged()
        if not self.is_closed:
            raise TicketNotClosed(f"ticket {self.id} is not closed")
        if actor.is_customer and not self.within_reopen_window(now, policy):
            raise ReopenWindowExpired(f"ticket {self.id} closed at {self.closed_at}")
        return [self._reopened_event(actor, now)]

    def _reopened_event(self, actor: Actor, now: datetime) -> TicketReopened:
        return TicketReopened(
            ticket_id=self._ticket_id,
            reopened_by=actor.id,
            reopened_by_role=actor.role,
            reopened_at=now,
        )

    def merge_into(self, actor: Actor, target: Ticket, now: datetime) -> list[DomainEvent]:
        """This ticket is a duplicate of ``target``: it is closed and points there. A
        duplicate that was already closed may still be merged (so it points to the
        live conversation); one that was merged already may not be merged again."""
        now = _utc(now)
        self._require_staff(actor)
        self._require_not_merged()
        if not target.exists:
            raise TicketNotVisible("the ticket to merge into does not exist")
        if target.id == self.id:
            raise CannotMergeIntoItself(f"ticket {self.id}")
        if target.is_closed or target.is_merged:
            raise MergeTargetClosed(f"ticket {target.id} is closed")
        if target.customer_id != self.customer_id:
            raise MergeAcrossCustomers(
                f"ticket {self.id} is {self.customer_id}'s, {target.id} is {target.customer_id}'s"
            )
        assert target.id is not None and target.number is not None
        return [
            TicketMerged(
                ticket_id=self._ticket_id,
                into_ticket_id=target.id,
                into_number=target.number,
                merged_by=actor.id,
                merged_at=now,
            )
        ]

    def rate(
        self,
        actor: Actor,
        score: int,
        comment: str | None,
        now: datetime,
        policy: TicketPolicy = DEFAULT_POLICY,
    ) -> list[DomainEvent]:
        """The customer who asked says how well we did, once, after the ticket is
        closed. A merged duplicate is not rated: the surviving ticket is."""
        now = _utc(now)
        self._require_visible(actor)
        if not actor.is_customer or actor.id != self.customer_id:
            raise NotPermitted("only the customer who opened the ticket may rate it")
        if self.is_merged:
            raise RatingNotAllowed(f"ticket {self.id} was merged into {self.merged_into}")
        if not self.is_closed:
            raise TicketNotClosed(f"ticket {self.id} is not closed")
        if self.rating is not None:
            raise AlreadyRated(f"ticket {self.id} was rated {self.rating}")
        problems = _Problems()
        if (
            isinstance(score, bool)
            or not isinstance(score, int)
            or not (MIN_SCORE <= score <= MAX_SCORE)
        ):
            problems.add(
                "score",
                f"امتیاز باید عددی صحیح از {fa_number(MIN_SCORE)} تا {fa_number(MAX_SCORE)} باشد.",
                f"The score must be a whole number from {MIN_SCORE} to {MAX_SCORE}.",
            )
        comment = problems.optional_text(comment, "comment", policy.max_rating_comment_length)
        problems.raise_if_any()
        assert self.customer_id is not None
        return [
            SatisfactionRated(
                ticket_id=self._ticket_id,
                customer_id=self.customer_id,
                score=score,
                comment=comment,
                rated_at=now,
            )
        ]


_APPLIERS: dict[type[DomainEvent], Any] = {
    TicketOpened: Ticket._opened,
    TicketClaimed: Ticket._claimed,
    TicketReleased: Ticket._released,
    ReplyPosted: Ticket._replied,
    InternalNotePosted: Ticket._noted,
    AttachmentAdded: Ticket._attached,
    TicketTransferred: Ticket._transferred,
    PriorityChanged: Ticket._priority_changed,
    TicketClosed: Ticket._closed,
    TicketReopened: Ticket._reopened,
    TicketMerged: Ticket._merged,
    SatisfactionRated: Ticket._rated,
}


# -- validation of values -----------------------------------------------------------------


def _utc(now: datetime) -> datetime:
    """Decisions compare times, so a naive ``now`` (some machine's local time) is a
    programming error, refused before it can make a wrong decision."""
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


class _Problems:
    """Collects every invalid field of one request, so a form shows all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[dict[str, str]]] = {}
        self.only_empty_body = False

    def add(self, name: str, fa: str, en: str) -> None:
        self.fields.setdefault(name, []).extend(field_message(fa, en))

    def raise_if_any(self) -> None:
        if not self.fields:
            return
        if self.only_empty_body and list(self.fields) == ["body"]:
            raise EmptyBody("the message is empty", fields=self.fields)
        raise InvalidTicketData(", ".join(sorted(self.fields)), fields=self.fields)

    def department(self, value: Any, field: str = "department") -> str:
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            self.add(field, "واحد را مشخص کنید.", "Choose a department.")
        return text

    def subject(self, value: Any, policy: TicketPolicy) -> str:
        text = value.strip() if isinstance(value, str) else ""
        low, high = policy.min_subject_length, policy.max_subject_length
        if not low <= len(text) <= high:
            self.add(
                "subject",
                f"موضوع باید بین {fa_number(low)} تا {fa_number(high)} نویسه باشد.",
                f"The subject must be between {low} and {high} characters long.",
            )
        return text

    def priority(self, value: Any) -> Priority:
        try:
            return Priority(value)
        except ValueError:
            allowed = ", ".join(p.value for p in Priority)
            self.add(
                "priority",
                f"اولویت باید یکی از این مقادیر باشد: {allowed}.",
                f"The priority must be one of: {allowed}.",
            )
            return Priority.NORMAL

    def body(self, value: Any, policy: TicketPolicy) -> str:
        if value is not None and not isinstance(value, str):
            self.add("body", "متن پیام نامعتبر است.", "The message must be text.")
            return ""
        text = (value or "").strip()
        if not text:
            self.only_empty_body = True
            self.add("body", "متن پیام نمی‌تواند خالی باشد.", "The message cannot be empty.")
        elif len(text) > policy.max_body_length:
            high = policy.max_body_length
            self.add(
                "body",
                f"متن پیام نباید بیش از {fa_number(high)} نویسه باشد.",
                f"The message must be at most {high} characters long.",
            )
        return text

    def optional_text(self, value: Any, field: str, max_length: int) -> str | None:
        """Optional free text: blank means not given (None); too long is an error."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(field, "این مقدار باید متن باشد.", "This must be text.")
            return None
        text = value.strip()
        if len(text) > max_length:
            self.add(
                field,
                f"این متن نباید بیش از {fa_number(max_length)} نویسه باشد.",
                f"This text must be at most {max_length} characters long.",
            )
        return text or None


def _valid_body(body: Any, policy: TicketPolicy) -> str:
    problems = _Problems()
    text = problems.body(body, policy)
    problems.raise_if_any()
    return text


def _check_attachments(attachments: Sequence[AttachmentRef], policy: TicketPolicy) -> None:
    refs = list(attachments or ())
    high = policy.max_attachments_per_message
    if len(refs) > high:
        raise TooManyAttachments(
            f"{len(refs)} attachments, at most {high}",
            fields={
                "attachments": field_message(
                    f"هر پیام حداکثر {fa_number(high)} پیوست می‌تواند داشته باشد.",
                    f"A message may have at most {high} attachments.",
                )
            },
        )
    limit = policy.max_attachment_bytes
    for ref in refs:
        if ref.size > limit:
            megabytes = limit // (1024 * 1024)
            raise AttachmentTooLarge(
                f"{ref.name}: {ref.size} bytes, at most {limit}",
                fields={
                    "attachments": field_message(
                        f"حجم هر پیوست حداکثر {fa_number(megabytes)} مگابایت است: «{ref.name}».",
                        f"Each attachment may be at most {megabytes} MB: {ref.name!r}.",
                    )
                },
            )
    problems = _Problems()
    ids = [ref.attachment_id for ref in refs]
    if len(set(ids)) != len(ids):
        problems.add(
            "attachments",
            "یک پیوست دو بار به پیام افزوده شده است.",
            "The same attachment was added twice.",
        )
    if any(ref.size < 0 for ref in refs):
        problems.add("attachments", "حجم پیوست نامعتبر است.", "An attachment size is invalid.")
    problems.raise_if_any()


def _attachment_events(
    ticket_id: str, message_id: str, attachments: Sequence[AttachmentRef], now: datetime
) -> list[DomainEvent]:
    return [
        AttachmentAdded(
            ticket_id=ticket_id,
            message_id=message_id,
            attachment_id=ref.attachment_id,
            name=ref.name,
            size=ref.size,
            content_type=ref.content_type,
            sha256=ref.sha256,
            added_at=now,
        )
        for ref in attachments or ()
    ]

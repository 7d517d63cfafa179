"""The supervisor's numbers from sla's clocks: breaches on the department calendar's
today, and the average first response in business seconds over a window."""

from __future__ import annotations

from pasokh_common.errors import PasokhError

import pytest

from tests.integration.sla.support import HOUR, TicketStream, tehran

pytestmark = pytest.mark.integration


def test_breaches_today_and_average_first_response_in_business_time(sla_app):
    quick = TicketStream(department="billing")
    sla_app.receive(quick.opened(tehran(2026, 3, 18, 16)))  # Wednesday, office open
    sla_app.receive(quick.reply(tehran(2026, 3, 18, 16, 30)))  # 30 business minutes
    night = TicketStream(department="billing")
    sla_app.receive(night.opened(tehran(2026, 3, 17, 20)))  # Tuesday night: counts from 09:00
    sla_app.receive(night.reply(tehran(2026, 3, 18, 10)))  # 1 business hour, 14 on the wall
    late = TicketStream(department="billing")
    sla_app.receive(late.opened(tehran(2026, 3, 17, 20)))  # due Saturday 28 March, 17:00
    elsewhere = TicketStream(department="technical")
    sla_app.receive(elsewhere.opened(tehran(2026, 3, 17, 20)))  # the same deadline

    sla_app.clock.set(tehran(2026, 3, 28, 18))
    sla_app.app.scanner.scan()
    report = sla_app.app.queries.department_report("billing")
    assert report["breaches_today"] == 1  # the other department's breach is not counted
    assert report["first_responses"] == 2
    assert report["average_first_response_business_seconds"] == (HOUR // 2 + HOUR) // 2
    assert (report["today"], report["window_days"]) == ("1405-01-08", 30)

    # The next day the breach is yesterday's; a short window has no first responses.
    sla_app.clock.set(tehran(2026, 3, 29, 12))
    report = sla_app.app.queries.department_report("billing", 5)
    assert report["breaches_today"] == 0
    assert report["first_responses"] == 0
    assert report["average_first_response_business_seconds"] is None


def test_a_report_for_a_department_without_tickets_and_bad_arguments(sla_app):
    report = sla_app.app.queries.department_report("nobody-here")
    assert (report["breaches_today"], report["first_responses"]) == (0, 0)
    with pytest.raises(PasokhError) as refused:
        sla_app.app.queries.department_report("billing", 0)
    assert refused.value.code == "validation_failed"

"""The seed's story through the web panel, in headless Chromium on the real stack:
register with the code from the console SMS outbox, open a ticket with an attachment
(the 10 MB limit checked before upload), the agent claims it, writes an internal note
and replies; the customer sees "answered" and the SMS, replies, closes and rates. The
main pages are photographed at 1280 px and 360 px, and checked for labels, visible
keyboard focus, sideways scrolling, and requests outside the gateway."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.e2e.browser import (
    DESKTOP,
    FOCUS_OUTLINE,
    LOW_CONTRAST,
    OVERFLOW,
    PHONE,
    UNLABELLED_CONTROLS,
    browser,  # noqa: F401  (fixture)
    shoot,
)
from tests.e2e.people import register_customer
from tests.e2e.stack import PASSWORD
from tests.integration.gateway.client import (
    error_of,
    new_agent,
    new_department,
    new_phone,
    ok,
    open_ticket,
)

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n% a scanned receipt\n"
PERSIAN_DIGIT = re.compile("[۰-۹]")


def check_page(page, at_phone_width: bool = False) -> None:
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    assert page.evaluate(LOW_CONTRAST) == []
    if at_phone_width:
        assert page.evaluate(OVERFLOW) <= 0


def new_context(browser, base_url: str, outside: list[str], size=DESKTOP):  # noqa: F811
    context = browser.new_context(viewport=size, base_url=base_url, locale="fa-IR")
    context.on(
        "request",
        lambda r: None if r.url.startswith((base_url, "blob:", "data:")) else outside.append(r.url),
    )
    return context


def log_in(browser, stack, login: str, outside: list[str]):  # noqa: F811
    """A new browser session that logs in through the login page."""
    page = new_context(browser, stack.base_url, outside).new_page()
    page.goto("/panel/#/login")
    page.get_by_label("شماره موبایل یا نام کاربری").fill(login)
    page.get_by_label("رمز عبور").fill(PASSWORD)
    page.get_by_role("button", name="ورود").click()
    return page


def at_phone_width(page, name: str) -> None:
    page.set_viewport_size(PHONE)
    check_page(page, at_phone_width=True)
    shoot(page, f"{name}-360")
    page.set_viewport_size(DESKTOP)


def test_the_panel_serves_its_files_with_strict_headers(stack):
    shell = requests.get(f"{stack.base_url}/panel/", timeout=10)
    assert shell.status_code == 200 and shell.headers["Content-Type"].startswith("text/html")
    policy = shell.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert shell.headers["Cache-Control"] == "no-cache"
    assert 'dir="rtl"' in shell.text and "<script>" not in shell.text  # no inline script
    font = requests.get(f"{stack.base_url}/panel/static/fonts/Vazirmatn-Regular.woff2", timeout=10)
    assert font.headers["Content-Type"] == "font/woff2" and font.content[:4] == b"wOF2"
    again = requests.get(font.url, headers={"If-None-Match": font.headers["ETag"]}, timeout=10)
    assert again.status_code == 304 and not again.content
    script = requests.get(f"{stack.base_url}/panel/static/app.js", timeout=10)
    assert script.headers["Content-Type"].startswith("text/javascript")
    missing = requests.get(f"{stack.base_url}/panel/static/../service.py", timeout=10)
    assert missing.status_code == 404
    root = requests.get(f"{stack.base_url}/", allow_redirects=False, timeout=10)
    assert (root.status_code, root.headers["Location"]) == (302, "/panel/")


def test_the_seed_story_through_the_panel(stack, admin, browser):  # noqa: F811
    department = new_department(admin, "panel")
    agent = new_agent(stack, admin, [department])
    outside: list[str] = []
    phone = new_phone()
    local_phone = "0" + phone[3:]
    subject = f"قطع مکرر سرویس {uuid.uuid4().hex[:6]}"

    # -- the customer registers with the code that reached her phone ----------------
    customer = new_context(browser, stack.base_url, outside).new_page()
    customer.goto("/panel/#/register")
    customer.get_by_label("نام و نام خانوادگی").fill("مریم احمدی")
    customer.get_by_label("شماره موبایل").fill(local_phone)
    customer.get_by_label("رمز عبور").fill(PASSWORD)
    check_page(customer)
    shoot(customer, "customer-register")
    customer.get_by_role("button", name="ثبت‌نام و دریافت کد").click()
    resend = customer.get_by_test_id("resend")
    resend.wait_for()
    assert PERSIAN_DIGIT.search(customer.locator("main").inner_text())
    stack.wait_for_sms(phone, "verification_code")
    # The test stack has no resend cooldown, so the button is ready at once: a new
    # code is texted, and the newest one is the one she types.
    resend.click()
    stack.wait_for_sms(phone, "verification_code", count=2)
    customer.get_by_label("کد پیامک‌شده").fill(stack.latest_code(phone))
    customer.get_by_role("button", name="تأیید").click()

    # -- the notes first, then the form; a file over 10 MB is refused before upload --
    customer.get_by_test_id("notes-read").wait_for()
    check_page(customer)
    shoot(customer, "customer-notes")
    at_phone_width(customer, "customer-notes")
    customer.get_by_test_id("notes-read").click()
    customer.get_by_label("دپارتمان").select_option(department)
    customer.get_by_label("موضوع").fill(subject)
    customer.get_by_label("متن درخواست").fill("سلام، از دیروز سرویس چند بار قطع شده است.")
    files = customer.get_by_label("پیوست‌ها")
    big = {"name": "بزرگ.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" + b"0" * 10_500_000}
    files.set_input_files(big)
    uploads: list[str] = []
    customer.on("request", lambda r: uploads.append(r.url) if "/attachments" in r.url else None)
    customer.get_by_role("button", name="ارسال درخواست").click()
    assert "بیش از ۱۰ مگابایت" in customer.locator('[data-field-error="attachments"]').inner_text()
    assert customer.get_by_role("heading", name="درخواست شما ثبت شد").count() == 0
    assert uploads == []  # refused in the page: not a byte was sent
    files.set_input_files({"name": "رسید.pdf", "mimeType": "application/pdf", "buffer": PDF})
    check_page(customer)
    shoot(customer, "customer-new-request")
    customer.get_by_role("button", name="ارسال درخواست").click()
    customer.get_by_role("heading", name="درخواست شما ثبت شد").wait_for()
    number = customer.locator(".big-number .number").inner_text()
    assert PERSIAN_DIGIT.search(number)
    [opened_sms] = stack.wait_for_sms(phone, "ticket_opened")

    # -- her ticket: "answer expected by" in Jalali date and Tehran time -------------
    customer.get_by_role("link", name="مشاهده درخواست").click()
    expected = customer.get_by_test_id("expected-by")
    expected.wait_for()
    assert "به وقت تهران" in expected.inner_text() and PERSIAN_DIGIT.search(expected.inner_text())
    ticket_url = customer.url
    ticket_id = ticket_url.rsplit("/", 1)[-1]
    assert opened_sms["body"].count(ok(admin.api.get(f"/api/v1/tickets/{ticket_id}"))["number"])
    shoot(customer, "customer-ticket")
    at_phone_width(customer, "customer-ticket")

    # -- the agent: queue with its due time, claim, internal note, reply ------------
    desk = log_in(browser, stack, agent.phone, outside)  # the username it was made with
    desk.locator(".queue-row", has_text=subject).wait_for()
    row = desk.locator(".queue-row", has_text=subject)
    assert "مهلت پاسخ" in row.inner_text()
    check_page(desk)
    shoot(desk, "agent-queue")
    at_phone_width(desk, "agent-queue")
    row.get_by_role("button", name="برداشتن").click()
    desk.get_by_role("heading", name=subject).wait_for()
    assert "در حال بررسی" in desk.locator(".meta").first.inner_text()
    desk.get_by_label("متن یادداشت").fill("مشتری قبلاً هم تماس گرفته بود.")
    desk.get_by_role("button", name="ثبت یادداشت").click()
    desk.locator(".message.note").wait_for()
    desk.get_by_label("متن پاسخ").fill("سلام، مشکل از تجهیزات منطقه بود و برطرف شد.")
    desk.locator("form.reply").get_by_label("پیوست‌ها").set_input_files(
        {"name": "گزارش.txt", "mimeType": "text/plain", "buffer": "گزارش تعمیر".encode()}
    )
    desk.get_by_role("button", name="ارسال پاسخ").click()
    desk.locator(".message.from-staff").wait_for()
    desk.get_by_text("تاریخچه رویدادها").first.click()
    desk.locator(".audit tbody tr").nth(4).wait_for()
    trail = desk.locator(".audit tbody").inner_text()
    for step in ("ثبت درخواست", "افزودن پیوست", "برداشتن", "یادداشت داخلی", "پاسخ"):
        assert step in trail
    check_page(desk)
    desk.focus("#in-note")
    desk.keyboard.press("Tab")  # to the note button, by keyboard: the focus ring shows
    tag, outline, width = desk.evaluate(FOCUS_OUTLINE)
    assert outline != "none" and width != "0px", (tag, outline, width)
    shoot(desk, "agent-ticket")
    at_phone_width(desk, "agent-ticket")

    # -- the customer sees "answered" (and the SMS), replies, closes, rates -----------
    stack.wait_for_sms(phone, "ticket_answered")
    customer.goto("/panel/#/tickets?status=answered")
    customer.locator(".ticket-row", has_text=subject).wait_for()
    assert "پاسخ داده شده" in customer.locator(".ticket-row", has_text=subject).inner_text()
    shoot(customer, "customer-tickets")
    at_phone_width(customer, "customer-tickets")
    # Kept ticket number in hand: the customer finds the ticket by it.
    customer.get_by_label("جست‌وجو با شماره درخواست").fill(number)
    customer.get_by_role("button", name="جست‌وجو").click()
    customer.get_by_role("heading", name=subject).wait_for()
    customer.goto("/panel/#/tickets?status=answered")
    customer.locator(".ticket-row", has_text=subject).click()
    customer.locator(".message.from-staff").wait_for()
    assert "گزارش.txt" in customer.locator(".message.from-staff").inner_text()
    assert customer.locator(".message.note").count() == 0  # internal notes stay inside
    assert "مشتری قبلاً" not in customer.locator("main").inner_text()
    customer.get_by_label("متن پاسخ").fill("ممنون، اما امروز هم قطع شد.")
    customer.get_by_role("button", name="ارسال پاسخ").click()
    customer.locator(".message.from-customer").nth(1).wait_for()
    customer.get_by_role("button", name="بستن درخواست").click()
    customer.get_by_role("heading", name="نظر شما").wait_for()
    customer.get_by_label("عالی").check()
    customer.get_by_label("توضیح (اختیاری)").fill("سریع بود")
    customer.get_by_role("button", name="ثبت امتیاز").click()
    customer.locator(".rated").wait_for()
    assert "۵" in customer.locator(".rated").inner_text()
    final = ok(admin.api.get(f"/api/v1/tickets/{ticket_id}"))
    assert (final["status"], final["rating"]) == ("closed", 5)
    customer.get_by_role("button", name="بازگشایی درخواست").click()
    customer.get_by_role("button", name="بستن درخواست").wait_for()  # open again
    assert ok(admin.api.get(f"/api/v1/tickets/{ticket_id}"))["status"] != "closed"

    # -- the English switch --------------------------------------------------------
    customer.locator("#lang").click()
    customer.get_by_role("button", name="Log out").wait_for()
    assert customer.evaluate("document.documentElement.dir") == "ltr"
    customer.locator("#lang").click()
    assert customer.evaluate("document.documentElement.dir") == "rtl"

    # The font is ours and loaded; nothing outside the gateway was asked for.
    assert customer.evaluate("document.fonts.check('16px Vazirmatn')")
    assert outside == []


def test_the_supervisor_overview(stack, admin, browser):  # noqa: F811
    """Open tickets by status (tickets), breaches today and the average first response
    in business hours (sla), through the API and on the supervisor's page."""
    department, other = new_department(admin, "overview"), new_department(admin, "other")
    agent = new_agent(stack, admin, [department])
    supervisor = new_agent(stack, admin, [department], role="supervisor")
    customer = register_customer(stack)
    first = open_ticket(customer, department)
    open_ticket(customer, department)
    ok(agent.api.post(f"/api/v1/tickets/{first['ticket_id']}/claim", {}))
    path = f"/api/v1/departments/{department}/overview"

    assert error_of(agent.api.get(path), 403)["code"] == "not_permitted"
    assert error_of(customer.api.get(path), 403)["code"] == "not_permitted"
    assert error_of(supervisor.api.get(f"/api/v1/departments/{other}/overview"), 403)
    overview = ok(supervisor.api.get(path))
    assert overview["open_by_status"] == {"unanswered": 1, "under_review": 1, "answered": 0}
    assert overview["breaches_today"] == 0 and overview["first_responses"] == 0
    assert overview["average_first_response_business_seconds"] is None

    outside: list[str] = []
    page = log_in(browser, stack, supervisor.phone, outside)
    page.get_by_role("link", name="نمای کلی").click()
    card = page.locator(f'[data-department="{department}"]')
    card.wait_for()
    assert card.locator('[data-status="unanswered"]').inner_text() == "۱"
    assert card.locator('[data-status="under_review"]').inner_text() == "۱"
    assert card.get_by_test_id("breaches").inner_text() == "۰"
    check_page(page)
    shoot(page, "supervisor-overview")
    at_phone_width(page, "supervisor-overview")
    assert outside == []


def test_a_customer_is_told_the_office_is_closed_and_which_holiday(stack, admin, browser):  # noqa: F811
    """Today is made a named holiday on a calendar of the ticket's department: her
    ticket page says the office is closed, names the holiday, and still shows when an
    answer is expected (on a later working day)."""
    department = new_department(admin, "holiday")
    calendar = f"panel-{uuid.uuid4().hex[:8]}"
    today = datetime.now(ZoneInfo("Asia/Tehran")).date().isoformat()
    ok(admin.api.put(f"/api/v1/calendars/{calendar}", {"name": "تقویم آزمون پنل"}), 201)
    holiday = {"closed": True, "name_fa": "روز آزمون پنل", "name_en": "Panel test day"}
    ok(admin.api.put(f"/api/v1/calendars/{calendar}/holidays/{today}", holiday))
    ok(admin.api.put(f"/api/v1/departments/{department}/calendar", {"calendar_id": calendar}))
    customer = register_customer(stack)
    ticket = open_ticket(customer, department)

    outside: list[str] = []
    page = log_in(browser, stack, customer.phone, outside)
    page.get_by_role("heading", name="درخواست‌های من").wait_for()
    page.goto(f"/panel/#/ticket/{ticket['ticket_id']}")
    notice = page.get_by_test_id("office-closed")
    notice.wait_for()
    assert "روز آزمون پنل" in notice.inner_text()
    assert page.get_by_test_id("expected-by").count() == 1
    page.locator("#lang").click()
    english = page.get_by_test_id("office-closed").filter(has_text="Panel test day")
    english.wait_for()  # the page is drawn again in English, the holiday's English name
    assert "The office is closed" in english.inner_text()
    shoot(page, "customer-holiday-en")
    page.locator("#lang").click()
    assert outside == []


def test_an_agent_changes_priority_merges_and_transfers_from_the_ticket_page(
    stack,
    admin,
    browser,  # noqa: F811
):
    department, second = new_department(admin, "desk"), new_department(admin, "desk2")
    agent = new_agent(stack, admin, [department, second])
    customer = register_customer(stack)
    kept, duplicate = open_ticket(customer, department), open_ticket(customer, department)
    other, solved = open_ticket(customer, department), open_ticket(customer, department)
    outside: list[str] = []
    desk = log_in(browser, stack, agent.phone, outside)
    desk.get_by_role("heading", name="صف دپارتمان").wait_for()
    # An access token that no longer works: the page refreshes the session once
    # (the refresh token rotates) and carries on.
    stale = "const s = JSON.parse(localStorage['pasokh.session']);"
    desk.evaluate(
        stale + " s.access_token = 'expired'; localStorage['pasokh.session'] = JSON.stringify(s);"
    )
    desk.reload()
    desk.get_by_role("heading", name="صف دپارتمان").wait_for()
    session = desk.evaluate("JSON.parse(localStorage['pasokh.session'])")
    assert session["access_token"] != "expired"
    assert session["refresh_token"] != agent.refresh_token

    # Found by its number, as read out on the phone (Persian digits, with the dash).
    persian = kept["number"].translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    desk.get_by_label("جست‌وجو با شماره درخواست").fill(f"{persian[:4]}-{persian[4:]}")
    desk.get_by_role("button", name="جست‌وجو").click()
    desk.get_by_role("heading", name=kept["subject"]).wait_for()
    desk.get_by_label("اولویت").select_option("urgent")
    desk.get_by_role("button", name="ثبت اولویت").click()
    desk.locator(".meta .priority-urgent").wait_for()

    desk.goto(f"/panel/#/agent/ticket/{duplicate['ticket_id']}")
    desk.get_by_role("heading", name=duplicate["subject"]).wait_for()
    desk.get_by_label("شماره درخواست مقصد").fill(kept["number"])
    desk.get_by_role("button", name="ادغام").click()
    desk.locator(".meta .status-closed").wait_for()

    desk.goto(f"/panel/#/agent/ticket/{other['ticket_id']}")
    desk.get_by_role("heading", name=other["subject"]).wait_for()
    transfer = desk.locator("form", has_text="ارجاع به دپارتمان دیگر")
    transfer.get_by_label("دپارتمان").select_option(second)
    transfer.get_by_label("دلیل (اختیاری)").fill("موضوع مالی است")
    transfer.get_by_role("button", name="ارجاع").click()
    desk.get_by_role("heading", name="صف دپارتمان").wait_for()

    desk.goto(f"/panel/#/agent/ticket/{solved['ticket_id']}")
    desk.get_by_role("heading", name=solved["subject"]).wait_for()
    closing = desk.locator("form", has_text="بستن")
    closing.get_by_label("دلیل (اختیاری)").fill("مشکل برطرف شد")
    closing.get_by_role("button", name="بستن درخواست").click()
    desk.locator(".meta .status-closed").wait_for()

    assert ok(agent.api.get(f"/api/v1/tickets/{kept['ticket_id']}"))["priority"] == "urgent"
    assert ok(agent.api.get(f"/api/v1/tickets/{solved['ticket_id']}"))["status"] == "closed"
    merged = ok(agent.api.get(f"/api/v1/tickets/{duplicate['ticket_id']}"))
    assert (merged["status"], merged["merged_into"]) == ("closed", kept["ticket_id"])
    assert ok(agent.api.get(f"/api/v1/tickets/{other['ticket_id']}"))["department"] == second
    assert outside == []


def test_the_office_closed_notice_at_night_and_on_a_weekly_day_off(stack, admin, browser):  # noqa: F811
    """Two calendars made so that now is outside the working hours: one has no hours
    on today's weekday, the other works today but not at this hour."""
    now = datetime.now(ZoneInfo("Asia/Tehran"))
    today = now.strftime("%A").lower()
    week = ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday")
    hours = "06:00-07:00" if now.hour >= 12 else "20:00-21:00"
    schedules = {
        "day-off": {day: ["09:00-17:00"] for day in week if day != today},
        "night": {day: [hours] for day in week},
    }
    customer = register_customer(stack)
    outside: list[str] = []
    page = log_in(browser, stack, customer.phone, outside)
    page.get_by_role("heading", name="درخواست‌های من").wait_for()
    for case, schedule in schedules.items():
        department = new_department(admin, case)
        calendar = f"panel-{case}-{uuid.uuid4().hex[:6]}"
        body = {"name": "تقویم آزمون", "weekly_schedule": schedule}
        ok(admin.api.put(f"/api/v1/calendars/{calendar}", body), 201)
        ok(admin.api.put(f"/api/v1/departments/{department}/calendar", {"calendar_id": calendar}))
        ticket = open_ticket(customer, department)
        page.goto(f"/panel/#/ticket/{ticket['ticket_id']}")
        page.get_by_role("heading", name=ticket["subject"]).wait_for()  # drawn whole
        text = page.get_by_test_id("office-closed").inner_text()
        if case == "day-off":
            assert "روز کاری نیست" in text
        else:
            assert "ساعت کاری امروز" in text
            assert hours.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) in text
    assert outside == []


def test_jalali_dates_tehran_time_and_persian_digits_in_the_page(stack, browser):  # noqa: F811
    """The page's own formatting (Chromium's ICU), checked against known instants:
    Nowruz 1405 began at 00:00 Tehran on 21 March 2026 (20:30 UTC the day before)."""
    page = new_context(browser, stack.base_url, []).new_page()
    page.goto("/panel/#/login")
    page.get_by_role("heading", name="ورود").wait_for()
    result = page.evaluate(
        """async () => {
        const m = await import('/panel/static/i18n.js');
        const before = m.tehranToday(new Date('2026-03-20T20:29:00Z'));
        const after = m.tehranToday(new Date('2026-03-20T20:31:00Z'));
        return [before.jalali, before.time, after.jalali, after.time,
                m.digits('1405-01-01 09:30'), m.jalaliText('1405-09-04'),
                m.formatDateTime('2026-03-20T20:31:00Z')];
    }"""
    )
    assert result[:4] == ["1404-12-29", "23:59", "1405-01-01", "00:01"]
    assert result[4] == "۱۴۰۵-۰۱-۰۱ ۰۹:۳۰"
    assert result[5] == "4 آذر 1405"  # digits() is applied where it is shown
    assert "فروردین" in result[6] and "۱۴۰۵" in result[6] and "۰۰:۰۱" in result[6]

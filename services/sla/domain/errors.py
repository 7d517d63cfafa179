"""Every way an SLA request can be refused, with a stable code and both languages.

The calendar engine raises plain Python errors with a stable ``code`` (it must stay
free of the service's error shape to be usable and benchmarkable on its own);
``from_calendar_error`` maps each one to a ``PasokhError`` here, at the boundary.
"""

from __future__ import annotations

from pasokh_common.errors import PasokhError

from services.sla.calendar import CalendarError


class SlaError(PasokhError):
    code = "sla_error"
    http_status = 400
    message_en = "The request could not be completed."
    message_fa = "درخواست انجام نشد."


class NotPermitted(SlaError):
    code = "not_permitted"
    http_status = 403
    message_en = "You are not allowed to do this."
    message_fa = "شما اجازهٔ انجام این کار را ندارید."


class CalendarNotFound(SlaError):
    code = "calendar_not_found"
    http_status = 404
    message_en = "Calendar not found."
    message_fa = "تقویم مورد نظر یافت نشد."


class PolicyNotFound(SlaError):
    code = "policy_not_found"
    http_status = 404
    message_en = "No such SLA policy."
    message_fa = "چنین سیاست SLA وجود ندارد."


class TicketNotTracked(SlaError):
    code = "ticket_not_found"
    http_status = 404
    message_en = "This ticket has no SLA clocks (yet)."
    message_fa = "برای این تیکت (هنوز) زمان‌سنجی SLA وجود ندارد."


# -- the calendar engine's errors, one class per stable code -------------------------


class CalendarRefused(SlaError):
    """Base of the engine's refusals; ``detail`` carries the engine's own message."""

    code = "invalid_calendar"
    message_en = "The calendar settings are not valid."
    message_fa = "تنظیمات تقویم معتبر نیست."


class UnknownTimeZone(CalendarRefused):
    code = "unknown_time_zone"
    message_en = "Unknown time zone."
    message_fa = "منطقهٔ زمانی ناشناخته است."


class StaleTimeZoneData(CalendarRefused):
    code = "stale_time_zone_data"
    http_status = 503
    message_en = "The server's time-zone data is too old; ask an operator to update it."
    message_fa = "داده‌های منطقهٔ زمانی سرور قدیمی است؛ از مدیر سامانه بخواهید آن را به‌روز کند."


class InvalidInterval(CalendarRefused):
    code = "invalid_interval"
    message_en = "A working interval is not valid (write it like 09:00-17:00)."
    message_fa = "بازهٔ کاری معتبر نیست (مانند ۰۹:۰۰-۱۷:۰۰ بنویسید)."


class InvertedInterval(InvalidInterval):
    code = "inverted_interval"
    message_en = (
        "A working interval ends before it starts; one that crosses midnight is two intervals."
    )
    message_fa = "بازهٔ کاری پیش از شروع تمام می‌شود؛ بازه‌ای که از نیمه‌شب می‌گذرد را دو بازه بنویسید."


class OverlappingIntervals(InvalidInterval):
    code = "overlapping_intervals"
    message_en = "Two working intervals of one day overlap."
    message_fa = "دو بازهٔ کاری یک روز با هم هم‌پوشانی دارند."


class InvalidSchedule(CalendarRefused):
    code = "invalid_schedule"
    message_en = "The weekly schedule is not valid."
    message_fa = "برنامهٔ هفتگی معتبر نیست."


class NoWorkingTime(CalendarRefused):
    code = "no_working_time"
    message_en = "The weekly schedule has no working time at all."
    message_fa = "برنامهٔ هفتگی هیچ ساعت کاری ندارد."


class InvalidHoliday(CalendarRefused):
    code = "invalid_holiday"
    message_en = "A holiday date is not valid (write 1405-05-07 or 2026-07-29)."
    message_fa = "تاریخ تعطیلی معتبر نیست (مانند ۱۴۰۵-۰۵-۰۷ یا ۲۰۲۶-۰۷-۲۹)."


class InvalidHolidayFile(CalendarRefused):
    code = "invalid_holiday_file"
    http_status = 500
    message_en = "The holiday data file is not valid."
    message_fa = "پروندهٔ دادهٔ تعطیلات معتبر نیست."


class NaiveInstant(CalendarRefused):
    code = "naive_datetime"
    message_en = "Give instants with their time zone (e.g. 2026-03-18T16:00:00+03:30)."
    message_fa = "زمان را همراه با منطقهٔ زمانی بدهید (مانند 2026-03-18T16:00:00+03:30)."


class InvalidDuration(CalendarRefused):
    code = "invalid_duration"
    message_en = "Business time is a whole, non-negative number of seconds."
    message_fa = "زمان کاری باید عددی صحیح و نامنفی از ثانیه‌ها باشد."


class TargetUnreachable(CalendarRefused):
    code = "target_unreachable"
    http_status = 409
    message_en = (
        "With these settings a deadline could not be reached within the calendar's horizon."
    )
    message_fa = "با این تنظیمات، مهلت در افق زمانی تقویم قابل دستیابی نیست."


class OutOfRange(CalendarRefused):
    code = "out_of_range"
    message_en = "The date is outside the years the calendar can compute (1980-2099)."
    message_fa = "تاریخ خارج از سال‌هایی است که تقویم می‌تواند محاسبه کند (۱۹۸۰ تا ۲۰۹۹ میلادی)."


_BY_CODE: dict[str, type[CalendarRefused]] = {
    cls.code: cls
    for cls in (
        CalendarRefused,
        UnknownTimeZone,
        StaleTimeZoneData,
        InvalidInterval,
        InvertedInterval,
        OverlappingIntervals,
        InvalidSchedule,
        NoWorkingTime,
        InvalidHoliday,
        InvalidHolidayFile,
        NaiveInstant,
        InvalidDuration,
        TargetUnreachable,
        OutOfRange,
    )
}


def from_calendar_error(error: CalendarError) -> CalendarRefused:
    """The PasokhError for an engine error, keyed on its stable code."""
    cls = _BY_CODE.get(getattr(error, "code", ""), CalendarRefused)
    return cls(str(error))

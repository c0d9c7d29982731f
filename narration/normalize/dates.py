"""Dates and clock times → words ("Aug 8, 2014" → "August eighth, twenty fourteen")."""

from __future__ import annotations

import re

from narration.normalize.context import ends_text
from narration.normalize.numbers import cardinal, ordinal, year

_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_MONTH_BY_PREFIX = {month[:3]: month for month in _MONTHS}
# Capitalized month names and their common abbreviations ("Aug", "Aug.", "Sept").
_MONTH = (
    r"(?P<month>(?:" + "|".join(_MONTHS) + r")\b|"
    r"(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?)"
)
_DAY = r"(?P<day>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?P<year>\d{4})\b"

_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+{_YEAR}")
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}(?!\s*[:.]\d)(?:,?\s+{_YEAR})?")
_DAY_MONTH = re.compile(rf"(?<![\w.,:/])\b{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?")
_ISO_DATE = re.compile(r"\b(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])-(?P<day>0[1-9]|[12]\d|3[01])\b")
# 8/31/2014 (American month first) or 31/8/2014 (day first, when the first number can't be
# a month). Only with a four-digit year: "8/10" alone is a rating, not a date.
_SLASH_DATE = re.compile(r"(?<![\w/])(?P<first>\d{1,2})/(?P<second>\d{1,2})/(?P<year>\d{4})\b")


def _month_name(written: str) -> str:
    """"Aug." / "Aug" / "August" → "August"."""
    return _MONTH_BY_PREFIX[written[:3]]


def _month_day_year(month: str, day: int, year_text: str | None) -> str:
    """One spoken order for every written one, so a text reads its dates consistently."""
    spoken = f"{month} {ordinal(day)}"
    return f"{spoken}, {year(int(year_text))}" if year_text else spoken


def _speak_month_day(match: re.Match) -> str:
    """"Aug 8, 2014" and "8 August 2014" → "August eighth, twenty fourteen"."""
    month = _month_name(match.group("month"))
    return _month_day_year(month, int(match.group("day")), match.group("year"))


def _speak_iso_date(match: re.Match) -> str:
    """"2014-08-08" → "August eighth, twenty fourteen"."""
    month = _MONTHS[int(match.group("month")) - 1]
    return _month_day_year(month, int(match.group("day")), match.group("year"))


def _speak_slash_date(match: re.Match) -> str:
    """"8/31/2014" → "August thirty-first, twenty fourteen"; impossible dates stay as written."""
    first, second = int(match.group("first")), int(match.group("second"))
    month, day = (first, second) if first <= 12 else (second, first)
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return _month_day_year(_MONTHS[month - 1], day, match.group("year"))


_MERIDIEM = r"(?P<meridiem>[AaPp])\.?\s?[Mm]\b\.?"
_CLOCK = re.compile(rf"(?<![\w:.])(?P<hour>[01]?\d|2[0-4]):(?P<minute>[0-5]\d)(?![\d:])(?:\s?{_MERIDIEM})?")
_HOUR_MERIDIEM = re.compile(rf"(?<![\w:.])(?P<hour>1[0-2]|0?[1-9])\s?{_MERIDIEM}")


def _minutes(minute: int) -> str:
    """Minutes after the hour as said on a clock: 5 → "oh five", 30 → "thirty"."""
    return f"oh {cardinal(str(minute))}" if minute < 10 else cardinal(str(minute))


def _meridiem_words(match: re.Match) -> str:
    """"pm" / "P.M." → "p m", keeping a sentence's last period that the abbreviation swallowed."""
    letters = f"{match.group('meridiem').lower()} m"
    ends_sentence = match.group(0).endswith(".") and ends_text(match.string, match.end())
    return letters + ("." if ends_sentence else "")


def _speak_clock(match: re.Match) -> str:
    """"9:30 pm" → "nine thirty p m"; "9:00" → "nine o'clock"; "14:00" → "fourteen hundred"."""
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    if match.group("meridiem"):
        spoken = cardinal(str(hour % 12 or 12))
        if minute:
            spoken += " " + _minutes(minute)
        return f"{spoken} {_meridiem_words(match)}"
    if hour > 12 or match.group("hour").startswith("0") and hour:
        # Twenty-four-hour clock: "14:00" → "fourteen hundred", "07:30" → "oh seven thirty".
        spoken = cardinal(str(hour)) if hour >= 10 else f"oh {cardinal(str(hour))}"
        return f"{spoken} {_minutes(minute) if minute else 'hundred'}"
    spoken = cardinal(str(hour or 12))
    return f"{spoken} {_minutes(minute)}" if minute else f"{spoken} o'clock"


def _speak_hour_meridiem(match: re.Match) -> str:
    """"10am" → "ten a m"."""
    return f"{cardinal(str(int(match.group('hour'))))} {_meridiem_words(match)}"


def speak_dates_and_times(text: str) -> str:
    """Replace written dates and clock times with their spoken forms."""
    text = _ISO_DATE.sub(_speak_iso_date, text)
    text = _SLASH_DATE.sub(_speak_slash_date, text)
    text = _MONTH_DAY.sub(_speak_month_day, text)
    text = _DAY_MONTH.sub(_speak_month_day, text)
    text = _MONTH_YEAR.sub(lambda m: f"{_month_name(m['month'])} {year(int(m['year']))}", text)
    text = _CLOCK.sub(_speak_clock, text)
    return _HOUR_MERIDIEM.sub(_speak_hour_meridiem, text)

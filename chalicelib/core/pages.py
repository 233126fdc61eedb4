"""What every page for people shares: the reader's language, times in KST with the date, amounts and
durations in words, and HTML templates in which every value is escaped unless this module built it.

Pure: no AWS, no clock. The status page, the feed and the payout reports use it.
"""

from collections.abc import Iterable
from datetime import datetime
from html import escape
from string import Template
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")
LANGUAGES = ("ko", "en")
DEFAULT_LANGUAGE = "ko"
WEEKDAYS = {"ko": "월화수목금토일", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Markup(str):
    """HTML a template of ours built: placed as it is, never escaped again."""


def html(template: Template, **values: object) -> Markup:
    """`template` with every value escaped, except Markup (fragments built by `html` itself)."""
    return Markup(template.substitute({k: v if isinstance(v, Markup) else escape(str(v)) for k, v in values.items()}))


def joined(fragments: Iterable[Markup]) -> Markup:
    return Markup("".join(fragments))


def page_language(asked: str | None, accept_language: str | None) -> str:
    """`?lang=` when given, else the language of Accept-Language the reader prefers most among ours, else ko."""
    if asked in LANGUAGES:
        return asked
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        quality = _quality(params)
        if primary in LANGUAGES and quality > best_q:
            best, best_q = primary, quality
    return best


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def kst(moment: str | datetime | None, lang: str, with_weekday: bool = True) -> str:
    """A moment as people in Korea read it: "2022년 10월 15일 (토) 15:33 KST" / "Sat 15 Oct 2022, 15:33 KST"."""
    if moment is None:
        return "-"
    local = (datetime.fromisoformat(moment) if isinstance(moment, str) else moment).astimezone(KST)
    weekday = WEEKDAYS[lang][local.weekday()]
    if lang == "ko":
        day = f"{local.year}년 {local.month}월 {local.day}일" + (f" ({weekday})" if with_weekday else "")
        return f"{day} {local:%H:%M} KST"
    day = f"{local.day} {MONTHS[local.month - 1]} {local.year}"
    return f"{weekday + ' ' if with_weekday else ''}{day}, {local:%H:%M} KST"


def short_date(day: str, lang: str) -> str:
    """A KST calendar day (YYYY-MM-DD) in few words: "10월 15일" / "15 Oct"."""
    _year, month, date = (int(part) for part in day.split("-"))
    return f"{month}월 {date}일" if lang == "ko" else f"{date} {MONTHS[month - 1]}"


def duration(seconds: int, lang: str) -> str:
    """"2일 3시간 12분" / "2 d 3 h 12 min"; under a minute: "1분 미만" / "under 1 min"."""
    if seconds < 60:
        return "1분 미만" if lang == "ko" else "under 1 min"
    days, rest = divmod(seconds // 60, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = ("일", "시간", "분") if lang == "ko" else (" d", " h", " min")
    parts = [f"{value}{unit}" for value, unit in zip((days, hours, minutes), units, strict=True) if value]
    return " ".join(parts)


def krw(amount: int | None, lang: str) -> str:
    """"1,234,567원" / "KRW 1,234,567"; "-" when there is no amount."""
    if amount is None:
        return "-"
    return f"{amount:,}원" if lang == "ko" else f"KRW {amount:,}"


def won_range(low: int | None, high: int | None, lang: str) -> str:
    """A range of KRW in words: "30만원 이하", "30만원 초과 ~ 100만원 이하", "100만원 초과"."""
    if lang == "ko":
        low_text = f"{_man(low)} 초과" if low else ""
        high_text = f"{_man(high)} 이하" if high is not None else ""
        return " ~ ".join(t for t in (low_text, high_text) if t) or "전체"
    low_text = f"over KRW {low:,}" if low else ""
    high_text = f"up to KRW {high:,}" if high is not None else ""
    return ", ".join(t for t in (low_text, high_text) if t) or "all"


def _man(amount: int) -> str:
    """300000 -> "30만원"; amounts not in whole 만 keep their digits."""
    if amount % 10_000 == 0:
        return f"{amount // 10_000:,}만원"
    return f"{amount:,}원"

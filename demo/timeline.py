"""The real case's calendar (DESIGN.md's timeline), in Seoul time as the sources give it; the API speaks UTC."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

SEOUL_TIME = ZoneInfo("Asia/Seoul")


def kst(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A moment given in Korean time, as the UTC moment the API takes."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SEOUL_TIME).astimezone(UTC)


def iso(moment: datetime) -> str:
    """The API's form of a moment: UTC ISO-8601 with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def in_kst(moment: datetime | str) -> str:
    """For people: `2022-10-15 15:30 KST`."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return f"{moment.astimezone(SEOUL_TIME):%Y-%m-%d %H:%M} KST"


# --- the day of the fire: Saturday 15 October 2022 -----------------------------------------------------------
FIRST_DAY = kst(2022, 10, 1)                  # two weeks of ordinary rides lead up to it
FIRE = kst(2022, 10, 15, 15, 30)              # the data centre's power goes: three components fall silent
RIDES_BACK = kst(2022, 10, 15, 20, 10)        # ride API and payments answer again, hours later
MESSAGING_BACK = kst(2022, 10, 16, 1, 30)     # messaging comes back last
WEEK = timedelta(days=7)

# --- the aftermath --------------------------------------------------------------------------------------------
COUNCIL = kst(2022, 11, 14, 10)               # the damage-support council is formed
POLICY = kst(2022, 12, 29, 10)                # the support policy is announced: the programs and intake open
INTAKE_FIRST_CLOSE = kst(2023, 1, 31, 18)     # one month of intake ...
INTAKE_EXTENSIONS = (kst(2023, 2, 28, 18), kst(2023, 4, 28, 18), kst(2023, 6, 30, 18))  # ... and three more
INTAKE_CLOSES = INTAKE_EXTENSIONS[-1]
LAST_FILING = kst(2023, 6, 14, 18)            # the late claims still get their review before the report
DRIVERS_PAID = kst(2023, 1, 4, 10)            # taxi and designated drivers, and riders' credit
EMOTICONS = (kst(2023, 1, 5, 9), kst(2023, 1, 31, 23))   # the emoticon pack is taken through January
MESSAGE_CASH_CLOSES = kst(2023, 1, 31, 18)
MESSAGE_CASH_PAID = kst(2023, 2, 3, 10)
ROUNDS = (kst(2023, 3, 15, 14), kst(2023, 5, 15, 14), kst(2023, 6, 30, 19))  # from mid-March, the last at closing
FINAL_REPORT = kst(2023, 6, 30, 20)           # to the council when intake has closed
OFFICE_OPENS = 9                              # reviewers work through each day's filings from 09:00 KST

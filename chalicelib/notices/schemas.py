"""Request and response shapes of notices, inquiries and feedback campaigns."""

from typing import Literal

from pydantic import ConfigDict, Field, RootModel, ValidationInfo, field_validator

from chalicelib.core.schemas import Input, Moment, NextCursor, Output, PageQuery, UtcTime
from chalicelib.notices.rules import InquiryStatus, NoticeStatus

INQUIRY_CATEGORIES = ("dispatch", "fare", "payment", "insurance", "account", "app", "other")
INQUIRY_STATUSES = tuple(status.value for status in InquiryStatus)


class AudienceIn(Input):
    services: list[Literal["taxi", "designated"]] | None = Field(default=None, min_length=1, max_length=2)
    region: str | None = Field(default=None, min_length=1, max_length=40)


class NoticeIn(Input):
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=5000)
    audience: AudienceIn | None = None
    publish_at: Moment | None = None
    pinned: bool = False


class NoticeListQuery(PageQuery):
    cadence: bool = False


class InquiryIn(Input):
    category: Literal[INQUIRY_CATEGORIES]
    text: str = Field(min_length=1, max_length=2000)


class InquiryListQuery(PageQuery):
    status: Literal[INQUIRY_STATUSES] | None = None


class AnswerIn(Input):
    text: str = Field(min_length=1, max_length=4000)


class CampaignIn(Input):
    title: str = Field(min_length=1, max_length=120)
    question: str = Field(min_length=1, max_length=1000)
    opens_at: Moment
    closes_at: Moment

    @field_validator("closes_at")
    @classmethod
    def closes_after_opening(cls, closes_at: Moment, info: ValidationInfo) -> Moment:
        opens_at = info.data.get("opens_at")
        if opens_at is not None and closes_at <= opens_at:
            raise ValueError("must be after opens_at")
        return closes_at


class EntryIn(Input):
    text: str = Field(min_length=1, max_length=5000)


# --- answers ----------------------------------------------------------------------------------------------

class AudienceOut(Output):
    services: list[Literal["taxi", "designated"]] | None
    region: str | None


class NoticeOut(Output):
    notice_id: str
    title: str
    body: str
    kind: Literal["official", "education", "service_status"]
    status: Literal[tuple(status.value for status in NoticeStatus)]
    pinned: bool
    audience: AudienceOut
    publish_at: UtcTime | None
    published_at: UtcTime | None


class NoticeForAdmin(NoticeOut):
    """A notice as admins see it: who wrote it, how many read it, the one driver it is for (education)."""

    read_count: int = Field(ge=0)
    created_by: str
    audience_driver: str | None


class NoticeForDriver(NoticeOut):
    read: bool


class NoticeView(RootModel[NoticeForAdmin | NoticeForDriver]):
    """One notice: the admin's view or the driver's."""

    model_config = ConfigDict(defer_build=True)


class AdminNoticePage(Output):
    items: list[NoticeForAdmin]
    next: NextCursor


class DriverNoticePage(Output):
    items: list[NoticeForDriver]
    next: NextCursor


class CadenceWeek(Output):
    week_ending: UtcTime
    published: int = Field(ge=0)
    meets_cadence: bool


class Cadence(Output):
    """`?cadence=1` (admins): official notices per week, newest week first, against the promise."""

    min_per_week: int
    weeks: list[CadenceWeek]


class NoticeList(RootModel[AdminNoticePage | DriverNoticePage | Cadence]):
    """Admins: every notice (or the cadence); drivers: the notices meant for them, with `read`."""

    model_config = ConfigDict(defer_build=True)


class NoticeRead(Output):
    notice_id: str
    read: Literal[True]


class InquiryOut(Output):
    inquiry_id: str
    driver_id: str
    category: Literal[INQUIRY_CATEGORIES]
    text: str
    status: Literal[INQUIRY_STATUSES]
    created_at: UtcTime
    answer: str | None
    answered_at: UtcTime | None


class InquiryPage(Output):
    items: list[InquiryOut]
    next: NextCursor


class CampaignOut(Output):
    campaign_id: str
    title: str
    question: str
    opens_at: UtcTime
    closes_at: UtcTime
    entry_count: int = Field(ge=0)


class EntryOut(Output):
    entry_id: str
    campaign_id: str
    created_at: UtcTime


class CampaignEntry(Output):
    entry_id: str
    driver_id: str
    text: str
    created_at: UtcTime


class CampaignDetail(CampaignOut):
    """The campaign with one page of its entries, in the order they came."""

    entries: list[CampaignEntry]
    next: NextCursor

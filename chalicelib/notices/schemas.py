"""Request shapes of notices, inquiries and feedback campaigns."""

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from chalicelib.core.schemas import Input, Moment, PageQuery
from chalicelib.notices.rules import InquiryStatus

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

"""Routes of notices, inquiries and feedback campaigns, and the publishing job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import clock
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.auth import Caller
from chalicelib.core.lazy import lazy_module

if TYPE_CHECKING:
    from chalicelib.core.schemas import PageQuery
    from chalicelib.notices.schemas import (
        AnswerIn,
        CampaignIn,
        EntryIn,
        InquiryIn,
        InquiryListQuery,
        NoticeIn,
        NoticeListQuery,
    )

service = lazy_module("chalicelib.notices.service")

notices = ApiBlueprint(__name__)
ADMIN, DRIVER, BOTH = ["admin"], ["driver"], ["driver", "admin"]


@notices.route("/notices", methods=["POST"], roles=ADMIN, body="NoticeIn", status=201, response="NoticeForAdmin")
def post_notice(caller: Caller, body: NoticeIn):
    """Publish an official notice to drivers now, or schedule it (`publish_at`); `audience` narrows who gets it."""
    return service.post_notice(caller, body, clock.now())


@notices.route("/notices", methods=["GET"], roles=BOTH, query="NoticeListQuery", response="NoticeList")
def list_notices(caller: Caller, query: NoticeListQuery):
    """Drivers: published notices meant for them, pinned first, newest first, with `read`. Admins: all.

    `?cadence=1` (admin) shows official notices per week against the promise of two a week.
    """
    if query.cadence and caller.role == "admin":
        return service.cadence(clock.now())
    return service.list_notices(caller, query, clock.now())


@notices.route("/notices/{notice_id}", methods=["GET"], roles=BOTH, response="NoticeView")
def get_notice(notice_id: str, caller: Caller):
    """One notice (admins also see `read_count`)."""
    return service.notice_for(caller, notice_id)


@notices.route("/notices/{notice_id}/read", methods=["POST"], roles=DRIVER, response="NoticeRead")
def mark_read(notice_id: str, caller: Caller):
    """Mark a notice read; idempotent."""
    return service.mark_read(caller.sub, notice_id, clock.now())


@notices.route("/inquiries", methods=["POST"], roles=DRIVER, body="InquiryIn", status=201, hourly_cap="inquiries",
                response="InquiryOut")
def ask(caller: Caller, body: InquiryIn):
    """Send the platform a question; each inquiry gets its own answer."""
    return service.ask(caller.sub, body, clock.now())


@notices.route("/inquiries", methods=["GET"], roles=BOTH, query="InquiryListQuery", response="InquiryPage")
def list_inquiries(caller: Caller, query: InquiryListQuery):
    """A driver's own inquiries; admins see all, filtered by `?status=open|answered`."""
    return service.list_inquiries(caller, query)


@notices.route("/inquiries/{inquiry_id}", methods=["GET"], roles=BOTH, response="InquiryOut")
def get_inquiry(inquiry_id: str, caller: Caller):
    """One inquiry with its answer."""
    return service.inquiry_for(caller, inquiry_id)


@notices.route("/inquiries/{inquiry_id}/answer", methods=["POST"], roles=ADMIN, body="AnswerIn",
                response="InquiryOut", errors=[409])
def answer(inquiry_id: str, caller: Caller, body: AnswerIn):
    """Answer an open inquiry; the driver is notified."""
    return service.answer(caller, inquiry_id, body, clock.now())


@notices.route("/feedback-campaigns", methods=["POST"], roles=ADMIN, body="CampaignIn", status=201,
                response="CampaignOut")
def open_campaign(caller: Caller, body: CampaignIn):
    """Open a campaign asking drivers one question within a window."""
    return service.open_campaign(caller, body, clock.now())


@notices.route("/feedback-campaigns/{campaign_id}/entries", methods=["POST"], roles=DRIVER, body="EntryIn", status=201,
               hourly_cap="feedback_entries", response="EntryOut", errors=[409])
def add_entry(campaign_id: str, caller: Caller, body: EntryIn):
    """Answer a campaign while it is open."""
    return service.add_entry(caller.sub, campaign_id, body, clock.now())


@notices.route("/feedback-campaigns/{campaign_id}", methods=["GET"], roles=ADMIN, query="PageQuery",
                response="CampaignDetail")
def campaign(campaign_id: str, query: PageQuery):
    """The campaign with `entry_count` and a page of `entries`."""
    return service.campaign_detail(campaign_id, query)


@notices.job("publish-notices", every_minutes=5)
def publish_notices(now) -> dict:
    """Publish scheduled notices that are due; warn when fewer than two were published in the last 7 days."""
    return service.publish_due(now)

"""What operators and drivers do with notices, inquiries and feedback campaigns."""

from datetime import datetime
from decimal import Decimal

from pynamodb.exceptions import TransactWriteError

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sort_key
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import (
    condition_failed_at,
    conflict_on_condition,
    failed_on_condition,
    get_or_404,
    retry_contended,
    transaction,
)
from chalicelib.core.errors import Conflict, NotFound, invalid_field
from chalicelib.core.ids import new_id, stable_id
from chalicelib.core.notify import notify
from chalicelib.core.observability import count, logger
from chalicelib.core.pagination import page_over
from chalicelib.core.schemas import PageQuery
from chalicelib.drivers import service as drivers
from chalicelib.notices import rules
from chalicelib.notices.models import Campaign, CampaignEntry, Inquiry, Notice, NoticeRead
from chalicelib.notices.rules import Audience, Reader
from chalicelib.notices.schemas import AnswerIn, CampaignIn, EntryIn, InquiryIn, InquiryListQuery, NoticeIn

CADENCE_WEEKS = 8


# --- notices ----------------------------------------------------------------------------------------------

def post_notice(admin: Caller, notice: NoticeIn, now: datetime) -> dict:
    """Publish a notice now, or schedule it for `publish_at`."""
    if notice.publish_at is not None and notice.publish_at <= now:
        raise invalid_field("publish_at", "must be in the future (leave it out to publish now)")
    audience = notice.audience
    record = Notice(new_id("notice", now), title=notice.title, body=notice.body, pinned=notice.pinned,
                    audience_services=set(audience.services) if audience and audience.services else None,
                    audience_region=audience.region if audience else None, publish_at=notice.publish_at,
                    created_at=now, created_by=admin.sub, status="scheduled", feed="scheduled",
                    feed_sort=f"{sort_key(notice.publish_at or now)}#{sort_key(now)}")
    if notice.publish_at is None:
        _mark_published(record, now)
        record.save()
        _announce(record)
    else:
        record.save()
    return view_notice(record)


def announce_to_drivers(title: str, body: str, now: datetime) -> dict:
    """A service-status notice to every driver from the platform itself (outages opening and ending)."""
    record = Notice(new_id("notice", now), kind="service_status", title=title, body=body, created_at=now,
                    created_by="outage-detector", status="scheduled", feed="scheduled", feed_sort="")
    _mark_published(record, now)
    record.save()
    _announce(record)
    return view_notice(record)


def publish_due(now: datetime) -> dict:
    """The `publish-notices` job: publish what is due, then check the twice-a-week promise."""
    published = 0
    for record in Notice.by_feed.query("scheduled", Notice.feed_sort <= f"{sort_key(now)}#~"):
        _mark_published(record, now)
        try:
            record.save(condition=Notice.status == "scheduled")
        except Exception as exc:
            if failed_on_condition(exc):
                continue  # published by a concurrent run
            raise
        _announce(record)
        published += 1
    last_week = len(_official_published_since(now - rules.CADENCE_WINDOW))
    if not rules.cadence_ok(last_week):
        logger.warning("fewer than two official notices in the last 7 days", extra={"published": last_week})
        count("NoticeCadenceShortfall")
    return {"published": published, "last_7_days": last_week, "cadence_ok": rules.cadence_ok(last_week)}


def list_notices(caller: Caller, page: PageQuery, now: datetime) -> dict:
    """Admins see every notice; a driver sees the published notices meant for them, with their read flag."""
    if caller.role == "admin":
        items, cursor = page_over([_feed("scheduled", True), _feed("pinned"), _feed("published")],
                                  page.limit, page.cursor)
        return {"items": [view_notice(n) for n in items], "next": cursor}
    reader = _reader(caller.sub)
    items, cursor = page_over([_feed(f"driver#{caller.sub}"), _feed("pinned"), _feed("published")],
                              page.limit, page.cursor, keep=lambda n: rules.is_for(_audience(n), reader))
    read = _read_by(caller.sub, [n.notice_id for n in items])
    return {"items": [{**view_notice(n, for_driver=True), "read": n.notice_id in read} for n in items], "next": cursor}


def cadence(now: datetime) -> dict:
    """Official notices per week for the last eight weeks, against the promise of two a week."""
    since = now - rules.CADENCE_WINDOW * CADENCE_WEEKS
    weeks = rules.weekly_counts([n.published_at for n in _official_published_since(since)], now, CADENCE_WEEKS)
    return {"min_per_week": rules.CADENCE_MIN_PER_WEEK,
            "weeks": [{**week, "week_ending": iso(week["week_ending"])} for week in weeks]}


def notice_for(caller: Caller, notice_id: str) -> dict:
    """One notice: admins see any (with `read_count`); a driver only a published one meant for them."""
    record = _visible_notice(caller, notice_id)
    if caller.role == "admin":
        return view_notice(record)
    return {**view_notice(record, for_driver=True), "read": notice_id in _read_by(caller.sub, [notice_id])}


def mark_read(driver_id: str, notice_id: str, now: datetime) -> dict:
    """Mark a notice read by the driver; marking twice changes nothing."""
    _visible_notice(Caller(driver_id, "driver"), notice_id)
    def write() -> None:
        with transaction() as tx:
            tx.save(NoticeRead(notice_id, driver_id, read_at=now), condition=NoticeRead.driver_id.does_not_exist())
            tx.update(Notice(notice_id), actions=[Notice.read_count.add(1)])

    try:
        retry_contended(write)  # many drivers read a new notice at once: its counter is contended
    except TransactWriteError as exc:
        if not condition_failed_at(exc, 0):
            raise
    return {"notice_id": notice_id, "read": True}


def follow_up_quality(driver_id: str, now: datetime) -> str | None:
    """Send the driver a personal education notice when their quality falls, at most once per period."""
    settings = get_settings()
    bar = rules.QualityBar(Decimal(settings.quality_min_rating), settings.quality_min_ratings,
                           settings.quality_max_complaints, settings.quality_period_days)
    quality = drivers.profile(driver_id)
    rating = Decimal(str(quality.rating)) if quality.rating is not None else None
    reason = rules.quality_concern(rating, quality.rating_count, quality.complaint_count, bar)
    if reason is None:
        return None
    period = rules.quality_period(now, bar)
    record = Notice(stable_id("notice", now, driver_id, str(period)),
                    kind="education", title="Let's keep every ride a good one",
                    body=("Riders judge the whole platform by every driver. Your recent feedback shows "
                          f"{reason}. Please review the service guide; our team is glad to help."),
                    audience_driver=driver_id, created_at=now, created_by="quality-follow-up", status="scheduled",
                    feed="scheduled", feed_sort="")
    _mark_published(record, now)
    marker = NoticeRead(f"quality#{driver_id}#{period}", "sent", read_at=now)
    try:
        with transaction() as tx:
            tx.save(marker, condition=NoticeRead.driver_id.does_not_exist())
            tx.save(record)
    except TransactWriteError as exc:
        if condition_failed_at(exc, 0):
            return None  # already followed up this period
        raise
    count("QualityFollowUps")
    _announce(record)
    return record.notice_id


def view_notice(record: Notice, for_driver: bool = False) -> dict:
    shown = {"notice_id": record.notice_id, "title": record.title, "body": record.body, "kind": record.kind,
             "status": record.status, "pinned": record.pinned,
             "audience": {"services": sorted(record.audience_services) if record.audience_services else None,
                          "region": record.audience_region},
             "publish_at": iso(record.publish_at) if record.publish_at else None,
             "published_at": iso(record.published_at) if record.published_at else None}
    if not for_driver:
        shown |= {"read_count": int(record.read_count), "created_by": record.created_by,
                  "audience_driver": record.audience_driver}
    return shown


def _mark_published(record: Notice, now: datetime) -> None:
    record.status, record.published_at = "published", now
    record.feed = f"driver#{record.audience_driver}" if record.audience_driver else (
        "pinned" if record.pinned else "published")
    record.feed_sort = f"{sort_key(now)}#{record.notice_id}"


def _announce(record: Notice) -> None:
    services = sorted(record.audience_services) if record.audience_services else None
    notify("notice", {"notice_id": record.notice_id, "title": record.title},
           service=",".join(services) if services else "all", region=record.audience_region or "all",
           driver_id=record.audience_driver)


def _official_published_since(since: datetime) -> list[Notice]:
    condition = Notice.feed_sort >= sort_key(since)
    return [n for feed in ("pinned", "published") for n in Notice.by_feed.query(feed, condition)
            if n.kind == "official"]


def _feed(name: str, oldest_first: bool = False):
    def query(limit: int, last_key):
        return Notice.by_feed.query(name, scan_index_forward=oldest_first, limit=limit, last_evaluated_key=last_key)
    return query


def _audience(record: Notice) -> Audience:
    services = frozenset(record.audience_services) if record.audience_services else None
    return Audience(services, record.audience_region, record.audience_driver)


def _reader(driver_id: str) -> Reader:
    try:
        profile = drivers.profile(driver_id)
    except NotFound:
        return Reader(driver_id, frozenset(), None)
    return Reader(driver_id, frozenset(profile.services), profile.region)


def _read_by(driver_id: str, notice_ids: list[str]) -> set[str]:
    if not notice_ids:
        return set()
    return {r.notice_id for r in NoticeRead.batch_get([(notice_id, driver_id) for notice_id in notice_ids])}


def _visible_notice(caller: Caller, notice_id: str) -> Notice:
    record = get_or_404(Notice, notice_id, f"no notice {notice_id}")
    if caller.role != "admin" and (record.status != "published" or
                                   not rules.is_for(_audience(record), _reader(caller.sub))):
        raise NotFound(f"no notice {notice_id}")
    return record


# --- inquiries --------------------------------------------------------------------------------------------

def ask(driver_id: str, inquiry: InquiryIn, now: datetime) -> dict:
    """A driver sends an inquiry; an operator answers it one by one."""
    record = Inquiry(new_id("inq", now), driver_id=driver_id, category=inquiry.category, text=inquiry.text,
                     status="open", created_at=now)
    record.save()
    count("InquiriesOpened")
    return view_inquiry(record)


def list_inquiries(caller: Caller, query: InquiryListQuery) -> dict:
    """A driver's own inquiries, or for admins every inquiry (by status when given), newest first."""
    def by(index, key):
        def run(limit: int, last_key):
            return index.query(key, scan_index_forward=False, limit=limit, last_evaluated_key=last_key)
        return run

    if caller.role == "admin":
        statuses = [query.status] if query.status else ["open", "answered"]
        sources = [by(Inquiry.by_status, status) for status in statuses]
        items, cursor = page_over(sources, query.limit, query.cursor)
    else:
        items, cursor = page_over([by(Inquiry.by_driver, caller.sub)], query.limit, query.cursor,
                                  keep=lambda i: query.status in (None, i.status))
    return {"items": [view_inquiry(i) for i in items], "next": cursor}


def answer(admin: Caller, inquiry_id: str, reply: AnswerIn, now: datetime) -> dict:
    """Answer an open inquiry; the driver is notified."""
    record = _inquiry(inquiry_id)
    with conflict_on_condition("this inquiry is answered already"):
        record.update(condition=Inquiry.status == "open", actions=[
            Inquiry.status.set("answered"), Inquiry.answer.set(reply.text), Inquiry.answered_by.set(admin.sub),
            Inquiry.answered_at.set(now)])
    notify("inquiry_answered", {"inquiry_id": inquiry_id}, driver_id=record.driver_id)
    return view_inquiry(record)


def inquiry_for(caller: Caller, inquiry_id: str) -> dict:
    record = _inquiry(inquiry_id)
    if caller.role != "admin" and not caller.is_the("driver", record.driver_id):
        raise NotFound(f"no inquiry {inquiry_id}")
    return view_inquiry(record)


def view_inquiry(record: Inquiry) -> dict:
    return {"inquiry_id": record.inquiry_id, "driver_id": record.driver_id, "category": record.category,
            "text": record.text, "status": record.status, "created_at": iso(record.created_at),
            "answer": record.answer, "answered_at": iso(record.answered_at) if record.answered_at else None}


def _inquiry(inquiry_id: str) -> Inquiry:
    return get_or_404(Inquiry, inquiry_id, f"no inquiry {inquiry_id}")


# --- feedback campaigns -----------------------------------------------------------------------------------

def open_campaign(admin: Caller, campaign: CampaignIn, now: datetime) -> dict:
    """Open a campaign collecting drivers' answers to one question within a window."""
    record = Campaign(new_id("camp", now), title=campaign.title, question=campaign.question,
                      opens_at=campaign.opens_at, closes_at=campaign.closes_at, created_by=admin.sub, created_at=now)
    record.save()
    return view_campaign(record)


def add_entry(driver_id: str, campaign_id: str, entry: EntryIn, now: datetime) -> dict:
    """A driver answers a campaign while it is open (as often as they like)."""
    campaign = _campaign(campaign_id)
    if not campaign.opens_at <= now < campaign.closes_at:
        raise Conflict(f"the campaign is open from {iso(campaign.opens_at)} to {iso(campaign.closes_at)}")
    record = CampaignEntry(campaign_id, new_id("entry", now), driver_id=driver_id, text=entry.text, created_at=now)
    with transaction() as tx:
        tx.save(record)
        tx.update(Campaign(campaign_id), actions=[Campaign.entry_count.add(1)])
    return {"entry_id": record.entry_id, "campaign_id": campaign_id, "created_at": iso(now)}


def campaign_detail(campaign_id: str, page: PageQuery) -> dict:
    """The campaign, its entry count and one page of entries in the order they came."""
    campaign = _campaign(campaign_id)

    def entries(limit: int, last_key):
        return CampaignEntry.query(campaign_id, limit=limit, last_evaluated_key=last_key)

    items, cursor = page_over([entries], page.limit, page.cursor)
    return {**view_campaign(campaign), "entries": [
        {"entry_id": e.entry_id, "driver_id": e.driver_id, "text": e.text, "created_at": iso(e.created_at)}
        for e in items], "next": cursor}


def view_campaign(record: Campaign) -> dict:
    return {"campaign_id": record.campaign_id, "title": record.title, "question": record.question,
            "opens_at": iso(record.opens_at), "closes_at": iso(record.closes_at),
            "entry_count": int(record.entry_count)}


def _campaign(campaign_id: str) -> Campaign:
    return get_or_404(Campaign, campaign_id, f"no campaign {campaign_id}")


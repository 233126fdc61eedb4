"""Operators post notices to drivers, now or scheduled; the platform announces outages; the job publishes."""

from datetime import datetime

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sort_key
from chalicelib.core.dynamo import failed_on_condition
from chalicelib.core.errors import invalid_field
from chalicelib.core.ids import new_id
from chalicelib.core.lazy import lazy_module
from chalicelib.core.notify import notify
from chalicelib.core.observability import count, logger
from chalicelib.notices import rules
from chalicelib.notices.models import Notice
from chalicelib.notices.rules import NoticeStatus
from chalicelib.notices.schemas import NoticeIn

CADENCE_WEEKS = 8
realtime = lazy_module("chalicelib.realtime.service")  # the WebSocket push: loaded on the first notice


def post_notice(admin: Caller, notice: NoticeIn, now: datetime) -> dict:
    """Publish a notice now, or schedule it for `publish_at`."""
    if notice.publish_at is not None and notice.publish_at <= now:
        raise invalid_field("publish_at", "must be in the future (leave it out to publish now)")
    audience = notice.audience
    record = Notice(new_id("notice", now), title=notice.title, body=notice.body, pinned=notice.pinned,
                    audience_services=set(audience.services) if audience and audience.services else None,
                    audience_region=audience.region if audience else None, publish_at=notice.publish_at,
                    created_at=now, created_by=admin.sub, status=NoticeStatus.SCHEDULED, feed="scheduled",
                    feed_sort=f"{sort_key(notice.publish_at or now)}#{sort_key(now)}")
    if notice.publish_at is None:
        mark_published(record, now)
        record.save()
        announce(record)
    else:
        record.save()
    return view_notice(record)


def announce_to_drivers(title: str, body: str, now: datetime) -> dict:
    """A service-status notice to every driver from the platform itself (outages opening and ending)."""
    record = Notice(new_id("notice", now), kind="service_status", title=title, body=body, created_at=now,
                    created_by="outage-detector", status=NoticeStatus.SCHEDULED, feed="scheduled", feed_sort="")
    mark_published(record, now)
    record.save()
    announce(record)
    return view_notice(record)


def publish_due(now: datetime) -> dict:
    """The `publish-notices` job: publish what is due, then check the twice-a-week promise."""
    published = 0
    for record in Notice.by_feed.query("scheduled", Notice.feed_sort <= f"{sort_key(now)}#~"):
        mark_published(record, now)
        try:
            record.save(condition=Notice.status == NoticeStatus.SCHEDULED)
        except Exception as exc:
            if failed_on_condition(exc):
                continue  # published by a concurrent run
            raise
        announce(record)
        published += 1
    last_week = len(_official_published_since(now - rules.CADENCE_WINDOW))
    if not rules.cadence_ok(last_week):
        logger.warning("fewer than two official notices in the last 7 days", extra={"published": last_week})
        count("NoticeCadenceShortfall")
    return {"published": published, "last_7_days": last_week, "cadence_ok": rules.cadence_ok(last_week)}


def cadence(now: datetime) -> dict:
    """Official notices per week for the last eight weeks, against the promise of two a week."""
    since = now - rules.CADENCE_WINDOW * CADENCE_WEEKS
    weeks = rules.weekly_counts([n.published_at for n in _official_published_since(since)], now, CADENCE_WEEKS)
    return {"min_per_week": rules.CADENCE_MIN_PER_WEEK,
            "weeks": [{**week, "week_ending": iso(week["week_ending"])} for week in weeks]}


def view_notice(record: Notice, for_driver: bool = False) -> dict:
    """A notice as the API shows it; drivers do not see who wrote it or how many read it."""
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


def mark_published(record: Notice, now: datetime) -> None:
    """Move a scheduled notice (not saved yet) to the feed its readers see."""
    record.status, record.published_at = rules.next_notice_status(record.status, "publish"), now
    record.feed = f"driver#{record.audience_driver}" if record.audience_driver else (
        "pinned" if record.pinned else "published")
    record.feed_sort = f"{sort_key(now)}#{record.notice_id}"


def announce(record: Notice) -> None:
    """Push the published notice to the drivers it is for: through the notifications topic, and to connected
    drivers over the real-time channel (queued in chunks: never inside the publishing request)."""
    services = sorted(record.audience_services) if record.audience_services else None
    notify("notice", {"notice_id": record.notice_id, "title": record.title},
           service=",".join(services) if services else "all", region=record.audience_region or "all",
           driver_id=record.audience_driver)
    realtime.notice_published(record.notice_id, record.title, services, record.audience_region,
                              record.audience_driver)


def _official_published_since(since: datetime) -> list[Notice]:
    condition = Notice.feed_sort >= sort_key(since)
    return [n for feed in ("pinned", "published") for n in Notice.by_feed.query(feed, condition)
            if n.kind == "official"]

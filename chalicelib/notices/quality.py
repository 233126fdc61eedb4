"""Quality follow-up: a driver whose ratings or complaints fall below the bar gets a personal education notice."""

from datetime import datetime
from decimal import Decimal

from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import transaction
from chalicelib.core.errors import Conflict
from chalicelib.core.ids import stable_id
from chalicelib.core.observability import count
from chalicelib.drivers import service as drivers
from chalicelib.notices import rules
from chalicelib.notices.models import Notice, NoticeRead
from chalicelib.notices.publishing import announce, mark_published
from chalicelib.notices.rules import NoticeStatus


def follow_up_quality(driver_id: str, now: datetime) -> str | None:
    """Send the driver a personal education notice when their quality falls, at most once per period."""
    bar = _quality_bar()
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
                    audience_driver=driver_id, created_at=now, created_by="quality-follow-up",
                    status=NoticeStatus.SCHEDULED, feed="scheduled", feed_sort="")
    mark_published(record, now)
    marker = NoticeRead(f"quality#{driver_id}#{period}", "sent", read_at=now)
    try:
        with transaction() as tx:
            tx.save(marker, condition=NoticeRead.driver_id.does_not_exist(), conflict="followed up this period")
            tx.save(record)
    except Conflict:
        return None  # already followed up this period
    count("QualityFollowUps")
    announce(record)
    return record.notice_id


def _quality_bar() -> rules.QualityBar:
    settings = get_settings()
    return rules.QualityBar(Decimal(settings.quality_min_rating), settings.quality_min_ratings,
                            settings.quality_max_complaints, settings.quality_period_days)

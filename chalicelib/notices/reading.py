"""Drivers read the notices meant for them (and mark them read); admins see every notice."""

from contextlib import suppress
from datetime import datetime

from chalicelib.core.auth import Caller
from chalicelib.core.dynamo import get_or_404, retry_contended, transaction
from chalicelib.core.errors import Conflict, NotFound
from chalicelib.core.pagination import page_over
from chalicelib.core.schemas import PageQuery
from chalicelib.drivers import service as drivers
from chalicelib.notices import rules
from chalicelib.notices.models import Notice, NoticeRead
from chalicelib.notices.publishing import view_notice
from chalicelib.notices.rules import Audience, NoticeStatus, Reader


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
            tx.save(NoticeRead(notice_id, driver_id, read_at=now), condition=NoticeRead.driver_id.does_not_exist(),
                    conflict="read already")
            tx.update(Notice(notice_id), actions=[Notice.read_count.add(1)])

    with suppress(Conflict):  # read already: nothing to count again
        retry_contended(write)  # many drivers read a new notice at once: its counter is contended
    return {"notice_id": notice_id, "read": True}


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
    if caller.role != "admin" and (record.status != NoticeStatus.PUBLISHED or
                                   not rules.is_for(_audience(record), _reader(caller.sub))):
        raise NotFound(f"no notice {notice_id}")
    return record

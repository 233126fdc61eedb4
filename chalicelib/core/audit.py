"""The audit log: who did what to which target, and when. Every admin action lands here."""

from datetime import date, datetime, timedelta

from pynamodb.attributes import MapAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.models import Model

from chalicelib.core import clock
from chalicelib.core.dynamo import TableMeta
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import page_over

RETENTION = timedelta(days=5 * 365)


class AuditEntry(Model):
    """One audited action; partitioned by UTC day so a day's actions list in order."""

    class Meta(TableMeta):
        table_setting = "audit_table"

    day = UnicodeAttribute(hash_key=True)
    audit_id = UnicodeAttribute(range_key=True)
    actor = UnicodeAttribute()
    role = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute(default="")
    detail = MapAttribute(default=dict)
    at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


def record_action(actor: str, role: str, action: str, target: str = "", detail: dict | None = None,
                  at: datetime | None = None) -> AuditEntry:
    """Write one audit entry and return it."""
    at = at or clock.now()
    entry = AuditEntry(
        day=at.strftime("%Y-%m-%d"),
        audit_id=new_id("audit", at),
        actor=actor,
        role=role,
        action=action,
        target=target,
        detail=detail or {},
        at=at,
        expires_at=at + RETENTION,
    )
    entry.save()
    return entry


def actions_on(day: datetime) -> list[AuditEntry]:
    """The audited actions of one UTC day, oldest first."""
    return list(AuditEntry.query(day.strftime("%Y-%m-%d")))


def page_of_day(day: date, limit: int, cursor: str | None) -> dict:
    """A page of one UTC day's audited actions, oldest first, as API.md's list."""
    def entries(page_limit, last_key):
        return AuditEntry.query(day.isoformat(), limit=page_limit, last_evaluated_key=last_key)

    items, next_cursor = page_over([entries], limit, cursor)
    return {"items": [{"audit_id": e.audit_id, "at": clock.iso(e.at), "actor": e.actor, "role": e.role,
                       "action": e.action, "target": e.target, "detail": e.detail.as_dict()} for e in items],
            "next": next_cursor}

"""Watched components with their detector state, the checks made, incidents, and the public status snapshot."""

import json
import zlib
from typing import Any

from pynamodb.attributes import (
    Attribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.constants import BINARY
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import TableMeta


class Component(Model):
    """Something the detector watches: an HTTP probe, a heartbeat, or the platform's own ride traffic."""

    class Meta(TableMeta):
        table_setting = "components_table"

    name = UnicodeAttribute(hash_key=True)
    check = UnicodeAttribute()                       # probe | heartbeat | ride_traffic
    probe_url = UnicodeAttribute(null=True)
    heartbeat_timeout_s = NumberAttribute(null=True)
    registered_at = UTCDateTimeAttribute()
    last_heartbeat_at = UTCDateTimeAttribute(null=True)
    state = UnicodeAttribute(default="up")
    fail_streak = NumberAttribute(default=0)
    ok_streak = NumberAttribute(default=0)
    first_fail_at = UTCDateTimeAttribute(null=True)
    first_ok_at = UTCDateTimeAttribute(null=True)
    last_check_at = UTCDateTimeAttribute(null=True)
    last_check_ok = NumberAttribute(null=True)
    incident_id = UnicodeAttribute(null=True)


class Check(Model):
    """One check of one component (kept a week)."""

    class Meta(TableMeta):
        table_setting = "component_checks_table"

    component = UnicodeAttribute(hash_key=True)
    checked_at = UnicodeAttribute(range_key=True)
    healthy = NumberAttribute()
    detail = UnicodeAttribute(default="")
    expires_at = TTLAttribute()


class AffectedComponent(MapAttribute):
    name = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    recovered_at = UTCDateTimeAttribute(null=True)


class TimelineEvent(MapAttribute):
    at = UTCDateTimeAttribute()
    event = UnicodeAttribute()                       # detected | declared | component_* | update | resolved
    component = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)               # operators only (e.g. who resolved it)
    status = UnicodeAttribute(null=True)             # an update's rules.UpdateStatus
    message = UnicodeAttribute(null=True)            # an update's words for the public


class IncidentsByState(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_state"
        projection = AllProjection()

    state = UnicodeAttribute(hash_key=True)
    started_key = UnicodeAttribute(range_key=True)


class Incident(Model):
    """An outage: when it started, when it was noticed, which components it took down, when it ended."""

    class Meta(TableMeta):
        table_setting = "incidents_table"

    incident_id = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()                       # open | resolved
    source = UnicodeAttribute()                      # detector | declared
    summary = UnicodeAttribute(default="")
    started_at = UTCDateTimeAttribute()
    detected_at = UTCDateTimeAttribute()
    resolved_at = UTCDateTimeAttribute(null=True)
    components = ListAttribute(of=AffectedComponent, default=list)
    timeline = ListAttribute(of=TimelineEvent, default=list)
    started_key = UnicodeAttribute()
    by_state = IncidentsByState()


class PackedJSON(Attribute[Any]):
    """A JSON document stored zlib-compressed (about 10x smaller): far from the 400 KB item limit, and cheaper
    to read for the public route every visitor of the status page calls."""

    attr_type = BINARY

    def serialize(self, value: Any) -> bytes:
        return zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())

    def deserialize(self, value: bytes) -> Any:
        return json.loads(zlib.decompress(value))


class StatusSnapshot(Model):
    """What `GET /status` answers, rebuilt after every change and read by public requests in one GetItem.

    One item in the component-checks table, under a hash key no component can have (names match
    COMPONENT_NAME): no new table, and nothing scans that table or reads it by a caller's key. Each refresh
    first takes a ticket (`tickets` + 1), then reads the tables, then stores its document only if no refresh
    with a later ticket stored one (`built_ticket`): a later ticket read the tables later, so it saw every
    change an earlier one saw, and an older snapshot never overwrites a newer one.
    """

    class Meta(TableMeta):
        table_setting = "component_checks_table"

    component = UnicodeAttribute(hash_key=True)
    checked_at = UnicodeAttribute(range_key=True)
    tickets = NumberAttribute(default=0)  # refreshes begun
    built_ticket = NumberAttribute(null=True)  # the ticket of the refresh that stored `document`
    as_of = UTCDateTimeAttribute(null=True)
    document = PackedJSON(null=True)


STATUS_SNAPSHOT_KEY = ("#status", "snapshot")

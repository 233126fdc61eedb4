"""Drivers' profiles and status, the geo index of available drivers, and hourly earnings."""

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import TableMeta


class Driver(Model):
    """One driver: profile, status and last position. `status` is a DriverStatus."""

    class Meta(TableMeta):
        table_setting = "drivers_table"

    driver_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    services = UnicodeSetAttribute()
    region = UnicodeAttribute(null=True)
    affiliation = UnicodeAttribute(null=True)       # None: independent; it never changes who is offered
    status = UnicodeAttribute(default="offline")
    lat = NumberAttribute(null=True)
    lng = NumberAttribute(null=True)
    cell = UnicodeAttribute(null=True)
    position_at = UTCDateTimeAttribute(null=True)
    available_since = UTCDateTimeAttribute(null=True)
    offer_ride_id = UnicodeAttribute(null=True)
    offer_expires_at = UTCDateTimeAttribute(null=True)
    ride_id = UnicodeAttribute(null=True)
    rating_count = NumberAttribute(default=0)
    recent_ratings = ListAttribute(of=NumberAttribute, default=list)
    rating = NumberAttribute(null=True)
    complaint_count = NumberAttribute(default=0)
    online_since = UnicodeAttribute(null=True)      # the open OnlineSession's key
    active_day = UnicodeAttribute(null=True)        # last UTC day counted in the fairness report's `drivers`
    version = NumberAttribute(default=0)            # +1 on each write of what the geo-index spots derive from
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class SpotsByCell(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_cell"
        projection = AllProjection()

    cell_key = UnicodeAttribute(hash_key=True)
    idle_key = UnicodeAttribute(range_key=True)


class SpotsByArea(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_area"
        projection = AllProjection()

    area_key = UnicodeAttribute(hash_key=True)
    idle_key = UnicodeAttribute(range_key=True)


class DriverSpot(Model):
    """An available driver of one service in the geo index; it exists only while the driver is available.

    Spots hold the cell, not the exact position, so moving inside a cell writes no index entry.
    """

    class Meta(TableMeta):
        table_setting = "driver_spots_table"

    driver_id = UnicodeAttribute(hash_key=True)
    service = UnicodeAttribute(range_key=True)
    cell = UnicodeAttribute()
    cell_key = UnicodeAttribute()
    area_key = UnicodeAttribute()
    idle_key = UnicodeAttribute()
    available_since = UTCDateTimeAttribute()
    affiliation = UnicodeAttribute(null=True)       # carried for the dispatch record only, never for ranking
    services = UnicodeSetAttribute(null=True)       # all the driver is listed for: whose availability an offer ends
    by_cell = SpotsByCell()
    by_area = SpotsByArea()


class EarningsBucket(Model):
    """What one driver earned in one UTC hour (`hour` is `YYYY-MM-DDTHH`)."""

    class Meta(TableMeta):
        table_setting = "earnings_table"

    driver_id = UnicodeAttribute(hash_key=True)
    hour = UnicodeAttribute(range_key=True)
    total_krw = NumberAttribute(default=0)
    rides = NumberAttribute(default=0)


class OnlineSession(Model):
    """One stretch of a driver being online, from going online to going offline (`ended_at` None: still on).

    Compensation asks who was online before an outage; sessions answer with one read per driver.
    """

    class Meta(TableMeta):
        table_setting = "driver_sessions_table"

    driver_id = UnicodeAttribute(hash_key=True)
    started_key = UnicodeAttribute(range_key=True)
    started_at = UTCDateTimeAttribute()
    ended_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

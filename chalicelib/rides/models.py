"""Rides and complaints."""

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.core.dynamo import TableMeta


class PointAttribute(MapAttribute):
    lat = NumberAttribute()
    lng = NumberAttribute()


class FareAttribute(MapAttribute):
    fare_krw = NumberAttribute()
    commission_krw = NumberAttribute()
    driver_payout_krw = NumberAttribute()
    insurance_paid_by = UnicodeAttribute()


class OpenRides(GlobalSecondaryIndex):
    """Rides still looking for a driver (searching or offered), for the expire-rides job.

    Sparse: `open_key` is removed once a driver accepts or the ride ends. It is spread over a few
    shards so a rush of requests does not write to one partition.
    """

    class Meta:
        index_name = "by_open_status"
        projection = AllProjection()

    open_key = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class RidesByMinute(GlobalSecondaryIndex):
    """Keys only, per minute and shard: how many rides were requested lately, without a write to count them."""

    class Meta:
        index_name = "by_minute"
        projection = KeysOnlyProjection()

    minute_key = UnicodeAttribute(hash_key=True)
    ride_id = UnicodeAttribute(range_key=True)


class UnservedRides(GlobalSecondaryIndex):
    """Rides that ended cancelled or expired, per UTC day and shard, by end time: whom an outage left stranded.

    Sparse: only unserved rides carry `loss_key`. Compensation reads riders' credits from it.
    """

    class Meta:
        index_name = "by_loss"
        projection = IncludeProjection(["rider_id"])

    loss_key = UnicodeAttribute(hash_key=True)
    loss_sort = UnicodeAttribute(range_key=True)


class Ride(Model):
    """One ride request and its life; `status` is a rules.RideStatus."""

    class Meta(TableMeta):
        table_setting = "rides_table"

    ride_id = UnicodeAttribute(hash_key=True)
    service = UnicodeAttribute()
    status = UnicodeAttribute()
    rider_id = UnicodeAttribute()
    driver_id = UnicodeAttribute(null=True)
    driver_affiliation = UnicodeAttribute(null=True)  # of the driver last offered it: the fairness counters' cohort
    pickup = PointAttribute()
    dropoff = PointAttribute()
    fare_estimate_krw = NumberAttribute()
    fare = FareAttribute(null=True)
    distance_m = NumberAttribute(null=True)
    duration_s = NumberAttribute(null=True)
    declined_by = UnicodeSetAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    search_deadline = UTCDateTimeAttribute()
    offer_expires_at = UTCDateTimeAttribute(null=True)
    accepted_at = UTCDateTimeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    cancel_reason = UnicodeAttribute(null=True)
    cancelled_by = UnicodeAttribute(null=True)
    rating = NumberAttribute(null=True)
    rating_comment = UnicodeAttribute(null=True)
    open_key = UnicodeAttribute(null=True)
    created_key = UnicodeAttribute()
    minute_key = UnicodeAttribute()
    loss_key = UnicodeAttribute(null=True)
    loss_sort = UnicodeAttribute(null=True)
    by_open_status = OpenRides()
    by_minute = RidesByMinute()
    by_loss = UnservedRides()


class Complaint(Model):
    """A rider's complaint about a ride's driver."""

    class Meta(TableMeta):
        table_setting = "complaints_table"

    ride_id = UnicodeAttribute(hash_key=True)
    complaint_id = UnicodeAttribute(range_key=True)
    rider_id = UnicodeAttribute()
    driver_id = UnicodeAttribute()
    category = UnicodeAttribute()
    text = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class RideTally(Model):
    """Rides that expired unserved, per minute and shard (written by the expire-rides job, not by requests).

    The outage detector reads the platform's own error rate from these instead of scanning rides.
    """

    class Meta(TableMeta):
        table_setting = "ride_tallies_table"

    minute_shard = UnicodeAttribute(hash_key=True)
    failed = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class EntriesByDriver(GlobalSecondaryIndex):
    """A driver's candidacies, by time: the driver's dispatch log."""

    class Meta:
        index_name = "by_driver"
        projection = AllProjection()

    driver_id = UnicodeAttribute(hash_key=True)
    driver_key = UnicodeAttribute(range_key=True)


class DispatchEntry(Model):
    """One candidate of one dispatch decision (the offered driver too), written in the offer's transaction.

    A decision is the entries of one ride sharing `entry_key`'s time prefix; one item per candidate (not one
    per decision) so each candidate can find their own in the `by_driver` index. Kept 400 days.
    """

    class Meta(TableMeta):
        table_setting = "dispatch_decisions_table"

    ride_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)     # sort_key(at)#rank (two digits): decisions, then candidates
    at = UTCDateTimeAttribute()
    service = UnicodeAttribute()
    rule = UnicodeAttribute()
    offered_to = UnicodeAttribute()
    driver_id = UnicodeAttribute()
    driver_key = UnicodeAttribute()                  # sort_key(at)#ride_id
    affiliation = UnicodeAttribute()
    ring_distance = NumberAttribute()
    available_since = UTCDateTimeAttribute()
    outcome = UnicodeAttribute()
    reason = UnicodeAttribute()
    offered_ring = NumberAttribute()
    waited_less_s = NumberAttribute(default=0)
    expires_at = TTLAttribute()
    by_driver = EntriesByDriver()



class FairnessTally(Model):
    """Counters of one UTC hour, service and cohort, trip band or all decisions, in one of a few shards: what
    the fairness report sums, added (ADD) inside the transactions that offer, accept and complete rides and
    that end a driver's available stretch. Kept 400 days, like the decisions they count.
    """

    class Meta(TableMeta):
        table_setting = "fairness_tallies_table"

    partition = UnicodeAttribute(hash_key=True)      # service#YYYY-MM-DD#shard
    slot = UnicodeAttribute(range_key=True)          # HH#all|cohort|active|band#name
    decisions = NumberAttribute(null=True)
    passed_over_nearer = NumberAttribute(null=True)
    offers = NumberAttribute(null=True)
    accepted = NumberAttribute(null=True)
    completed = NumberAttribute(null=True)
    available_s = NumberAttribute(null=True)
    drivers = NumberAttribute(null=True)
    requests = NumberAttribute(null=True)
    offered = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)

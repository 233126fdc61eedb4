"""Notices and who read them, drivers' inquiries, and feedback campaigns with their entries."""

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import TableMeta


class NoticeFeed(GlobalSecondaryIndex):
    """Notices by feed: `scheduled` (by publish time), `pinned` and `published` (newest last in key order),
    and `driver#<id>` for personal notices."""

    class Meta:
        index_name = "by_feed"
        projection = AllProjection()

    feed = UnicodeAttribute(hash_key=True)
    feed_sort = UnicodeAttribute(range_key=True)


class Notice(Model):
    class Meta(TableMeta):
        table_setting = "notices_table"

    notice_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="official")        # official | education
    title = UnicodeAttribute()
    body = UnicodeAttribute()
    audience_services = UnicodeSetAttribute(null=True)
    audience_region = UnicodeAttribute(null=True)
    audience_driver = UnicodeAttribute(null=True)
    pinned = BooleanAttribute(default=False)
    status = UnicodeAttribute()                        # rules.NoticeStatus: scheduled | published
    publish_at = UTCDateTimeAttribute(null=True)
    published_at = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    read_count = NumberAttribute(default=0)
    feed = UnicodeAttribute()
    feed_sort = UnicodeAttribute()
    by_feed = NoticeFeed()


class NoticeRead(Model):
    class Meta(TableMeta):
        table_setting = "notice_reads_table"

    notice_id = UnicodeAttribute(hash_key=True)
    driver_id = UnicodeAttribute(range_key=True)
    read_at = UTCDateTimeAttribute()


class InquiriesByDriver(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_driver"
        projection = AllProjection()

    driver_id = UnicodeAttribute(hash_key=True)
    inquiry_id = UnicodeAttribute(range_key=True)


class InquiriesByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    inquiry_id = UnicodeAttribute(range_key=True)


class Inquiry(Model):
    class Meta(TableMeta):
        table_setting = "inquiries_table"

    inquiry_id = UnicodeAttribute(hash_key=True)
    driver_id = UnicodeAttribute()
    category = UnicodeAttribute()
    text = UnicodeAttribute()
    status = UnicodeAttribute()                        # rules.InquiryStatus: open | answered
    created_at = UTCDateTimeAttribute()
    answer = UnicodeAttribute(null=True)
    answered_by = UnicodeAttribute(null=True)
    answered_at = UTCDateTimeAttribute(null=True)
    by_driver = InquiriesByDriver()
    by_status = InquiriesByStatus()


class Campaign(Model):
    class Meta(TableMeta):
        table_setting = "campaigns_table"

    campaign_id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    question = UnicodeAttribute()
    opens_at = UTCDateTimeAttribute()
    closes_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    entry_count = NumberAttribute(default=0)


class CampaignEntry(Model):
    class Meta(TableMeta):
        table_setting = "campaign_entries_table"

    campaign_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    driver_id = UnicodeAttribute()
    text = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()

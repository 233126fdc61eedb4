"""Open WebSocket connections: who is behind each, and where to post to it."""

from pynamodb.attributes import TTLAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import TableMeta


class ConnectionsByOwner(GlobalSecondaryIndex):
    """A caller's open connections, by `role#sub` (a phone and a tablet may both be connected)."""

    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner = UnicodeAttribute(hash_key=True)


class Connection(Model):
    """One open WebSocket connection; DynamoDB's TTL forgets it after `expires_at` if nobody did before."""

    class Meta(TableMeta):
        table_setting = "connections_table"

    connection_id = UnicodeAttribute(hash_key=True)
    owner = UnicodeAttribute()                      # rules.owner_key(role, sub)
    role = UnicodeAttribute()
    sub = UnicodeAttribute()
    endpoint = UnicodeAttribute()                   # the management API of the stage it connected to
    connected_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()
    services = UnicodeSetAttribute(null=True)       # a driver's services and region when they connected,
    region = UnicodeAttribute(null=True)            # for notices meant for some drivers only
    by_owner = ConnectionsByOwner()

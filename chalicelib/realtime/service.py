"""The one door to the real-time channel: clients connect, send and disconnect; other domains push.

Connecting takes the same JWT as the REST API (`?token=` or `Authorization`) and is refused at the
handshake without one. Rides push `ride.offered` and `ride.updated` after their writes commit; notices
fan `notice.published` out to connected drivers through the work queue, a page of connections per chunk.
"""

from datetime import datetime

from chalicelib.core.auth import Caller
from chalicelib.core.config import get_settings
from chalicelib.core.errors import AppError, Forbidden, NotFound, Unauthenticated
from chalicelib.core.inputs import parse_body
from chalicelib.core.lazy import lazy_module
from chalicelib.core.observability import count, logger
from chalicelib.core.tasks import enqueue
from chalicelib.realtime import rules
from chalicelib.realtime.delivery import forget, never_failing, send, send_to_each, send_to_owner
from chalicelib.realtime.models import Connection
from chalicelib.realtime.schemas import ClientMessageIn, ErrorMessage, NoticePublished, Pong, RideOffered, RideUpdated

drivers = lazy_module("chalicelib.drivers.service")  # drivers imports rides, which pushes through here

NOTICE_TASK = "realtime-notice"


def connect(connection_id: str, domain_name: str, stage: str, query: dict | None, headers: dict | None,
            now: datetime) -> Caller:
    """Admit a connection whose token verifies (else `Unauthenticated`) and whose role has messages (else
    `Forbidden`), and remember it; returns the caller."""
    caller = _verified(rules.token_of(query, headers))
    rules.check_listener(caller.role)
    services, region = _audience_of(caller)
    Connection(connection_id, owner=rules.owner_key(caller.role, caller.sub), role=caller.role, sub=caller.sub,
               endpoint=_endpoint(domain_name, stage), connected_at=now,
               expires_at=rules.connection_expiry(caller.expires_at, now), services=services, region=region).save()
    count("ConnectionsOpened")
    return caller


def disconnect(connection_id: str) -> None:
    """The client or API Gateway closed the connection: forget it."""
    forget(connection_id)


def receive(connection_id: str, domain_name: str, stage: str, body: str | None, now: datetime) -> None:
    """Act on a client's message: `ping` is answered `pong`; a driver's `location` is PUT /drivers/me/location.
    A message the server cannot act on is answered with an `error` message (API.md's error body)."""
    try:
        reply = _act(_connection(connection_id, now), parse_body(ClientMessageIn, (body or "").encode()).root, now)
    except AppError as exc:
        reply = ErrorMessage(error=exc.body()["error"])
    if reply is not None:
        send(_endpoint(domain_name, stage), connection_id, reply.model_dump(mode="json"))


@never_failing(0)
def ride_offered(driver_id: str, offer: dict, now: datetime) -> int:
    """Tell the driver of the offer they now hold (`offer`: the fields of GET /drivers/me/offers)."""
    return send_to_owner("driver", driver_id, RideOffered(**offer).model_dump(mode="json"), now)


@never_failing(0)
def ride_updated(ride_id: str, status: str, driver_id: str | None, parties: list[tuple[str, str]],
                 now: datetime) -> int:
    """Tell each of `parties` ((role, sub) pairs: the rider, the driver) that the ride is now `status`."""
    message = RideUpdated(ride_id=ride_id, status=status, driver_id=driver_id).model_dump(mode="json")
    return sum(send_to_owner(role, sub, message, now) for role, sub in dict.fromkeys(parties))


@never_failing(0)
def notice_published(notice_id: str, title: str, services: list[str] | None, region: str | None,
                     driver_id: str | None) -> int:
    """Queue the fan-out of a published notice to the connected drivers it is for; returns the chunks queued."""
    notice = {"notice_id": notice_id, "title": title, "services": services, "region": region}
    if driver_id:
        return enqueue(NOTICE_TASK, [{**notice, "driver_id": driver_id}])
    return enqueue(NOTICE_TASK, [{**notice, "segment": n, "of": rules.NOTICE_SEGMENTS, "key": None}
                                 for n in range(rules.NOTICE_SEGMENTS)])


def push_notice_chunk(chunk: dict, now: datetime) -> int:
    """One chunk of a notice's fan-out (a queued task): a page of one scan segment of the connections, pushed
    to the drivers in the audience; the next page is queued after. Returns how many got it."""
    message = NoticePublished(notice_id=chunk["notice_id"], title=chunk["title"]).model_dump(mode="json")
    if chunk.get("driver_id"):
        return send_to_owner("driver", chunk["driver_id"], message, now)
    page = Connection.scan(Connection.role == "driver", segment=chunk["segment"], total_segments=chunk["of"],
                           limit=rules.NOTICE_PAGE, page_size=rules.NOTICE_PAGE, last_evaluated_key=chunk["key"])
    reached = [c for c in page if rules.in_audience(chunk["services"], chunk["region"], c.services, c.region)]
    sent = send_to_each(reached, message, now)
    if page.last_evaluated_key is not None:
        enqueue(NOTICE_TASK, [{**chunk, "key": page.last_evaluated_key}])
    logger.info("notice pushed", extra={"notice_id": chunk["notice_id"], "segment": chunk["segment"], "sent": sent})
    return sent


def _verified(token: str) -> Caller:
    from chalicelib.core.tokens import verify_token  # PyJWT and cryptography: on connect only

    try:
        return verify_token(token)
    except Unauthenticated:
        raise
    except Exception as exc:  # a token of a shape nobody foresaw is refused, never a dropped handshake
        raise Unauthenticated("malformed token") from exc


def _audience_of(caller: Caller) -> tuple[set[str] | None, str | None]:
    """A driver's services and region, for notices meant for some drivers only (none before a profile exists)."""
    if caller.role != "driver":
        return None, None
    try:
        shown = drivers.profile(caller.sub)
    except NotFound:
        return None, None
    return set(shown.services), shown.region


def _connection(connection_id: str, now: datetime) -> Connection:
    try:
        connection = Connection.get(connection_id)
    except Connection.DoesNotExist:
        raise Unauthenticated("this connection is not known: connect again") from None
    if not rules.live(connection.expires_at, now):
        raise Unauthenticated("the token of this connection has expired: connect again with a new one")
    return connection


def _act(connection: Connection, message, now: datetime):
    if message.action == "ping":
        return Pong()
    if connection.role != "driver":
        raise Forbidden("only drivers report their location")
    drivers.update_location(connection.sub, message.lat, message.lng, now)
    return None


def _endpoint(domain_name: str, stage: str) -> str:
    return rules.management_endpoint(domain_name, stage, secure=not get_settings().is_local)

"""What travels over the channel: the client's messages (validated) and the server's (API.md's fields exactly)."""

from typing import Annotated, Literal

from pydantic import Field, RootModel

from chalicelib.core.schemas import SERVICE_AREA, Input, Output, Position, UtcTime


class Ping(Input):
    """`{"action": "ping"}`: answered with `{"type": "pong"}`."""

    action: Literal["ping"]


class LocationReport(Input):
    """A driver's `{"action": "location", "lat", "lng"}`: what PUT /drivers/me/location does."""

    action: Literal["location"]
    lat: float = Field(ge=SERVICE_AREA["lat"][0], le=SERVICE_AREA["lat"][1])
    lng: float = Field(ge=SERVICE_AREA["lng"][0], le=SERVICE_AREA["lng"][1])


ClientMessage = Annotated[Ping | LocationReport, Field(discriminator="action")]


class RideOffered(Output):
    type: Literal["ride.offered"] = "ride.offered"
    ride_id: str
    service: str
    pickup: Position
    dropoff: Position
    fare_estimate_krw: int
    expires_at: UtcTime


class RideUpdated(Output):
    type: Literal["ride.updated"] = "ride.updated"
    ride_id: str
    status: str
    driver_id: str | None


class NoticePublished(Output):
    type: Literal["notice.published"] = "notice.published"
    notice_id: str
    title: str


class Pong(Output):
    type: Literal["pong"] = "pong"


class ErrorMessage(Output):
    """A client message the server could not act on, in API.md's error body."""

    type: Literal["error"] = "error"
    error: dict


class ClientMessageIn(RootModel[ClientMessage]):
    """Any message a client may send, told apart by `action`."""

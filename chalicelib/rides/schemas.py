"""Request and response shapes of the rides' routes."""

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from chalicelib.core.schemas import Input, Moment, Output, Point

COMPLAINT_CATEGORIES = ("rude", "unsafe_driving", "route", "fare", "vehicle", "late", "other")


class RideRequest(Input):
    service: Literal["taxi", "designated"]
    pickup: Point
    dropoff: Point

    @field_validator("dropoff")
    @classmethod
    def somewhere_else(cls, dropoff: Point, info: ValidationInfo) -> Point:
        pickup = info.data.get("pickup")
        if pickup is not None and (pickup.lat, pickup.lng) == (dropoff.lat, dropoff.lng):
            raise ValueError("dropoff must differ from pickup")
        return dropoff


class RideCreated(Output):
    ride_id: str
    status: str
    fare_estimate_krw: int
    driver_id: str | None = None
    offer_expires_at: str | None = None


class Completion(Input):
    distance_m: int = Field(ge=0, le=1_000_000)
    duration_s: int = Field(ge=0, le=86_400)


class Cancellation(Input):
    reason: str | None = Field(default=None, max_length=500)


class RatingIn(Input):
    stars: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)


class ComplaintIn(Input):
    category: Literal[COMPLAINT_CATEGORIES]
    text: str = Field(min_length=1, max_length=2000)


class Offer(Output):
    ride_id: str
    service: str
    pickup: dict
    dropoff: dict
    fare_estimate_krw: int
    expires_at: str


class Offers(Output):
    items: list[Offer]
    next: str | None = None


class FairnessQuery(Input):
    model_config = Input.model_config | {"extra": "ignore"}

    from_: Moment = Field(alias="from")
    to: Moment
    service: Literal["taxi", "designated"]

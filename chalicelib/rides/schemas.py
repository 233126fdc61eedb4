"""Request and response shapes of the rides' routes."""

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from chalicelib.core.schemas import Input, Krw, Moment, NextCursor, Output, Point, Position, UtcTime
from chalicelib.rides.rules import BAND_NAMES, DISPATCH_RULE, RideStatus

COMPLAINT_CATEGORIES = ("rude", "unsafe_driving", "route", "fare", "vehicle", "late", "other")
Service = Literal["taxi", "designated"]
RideState = Literal[tuple(status.value for status in RideStatus)]
Outcome = Literal["offered", "passed_over", "excluded"]


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
    status: RideState
    fare_estimate_krw: Krw
    driver_id: str | None = None
    offer_expires_at: UtcTime | None = None


class FareOut(Output):
    fare_krw: Krw
    commission_krw: Krw
    driver_payout_krw: Krw
    insurance_paid_by: Literal["platform"]


class RideOut(Output):
    """A ride as its rider, its driver or an admin sees it; the times and figures appear once they are known."""

    ride_id: str
    service: Service
    status: RideState
    rider_id: str
    driver_id: str | None
    pickup: Position
    dropoff: Position
    fare_estimate_krw: Krw
    created_at: UtcTime
    updated_at: UtcTime
    fare: FareOut | None = None
    offer_expires_at: UtcTime | None = None
    accepted_at: UtcTime | None = None
    started_at: UtcTime | None = None
    ended_at: UtcTime | None = None
    distance_m: int | None = None
    duration_s: int | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    cancel_reason: str | None = None
    cancelled_by: Literal["rider", "driver"] | None = None


class RideCompleted(Output):
    ride_id: str
    status: Literal["completed"]
    fare: FareOut


class RatingOut(Output):
    ride_id: str
    stars: int = Field(ge=1, le=5)
    comment: str | None


class ComplaintOut(Output):
    complaint_id: str
    ride_id: str
    category: Literal[COMPLAINT_CATEGORIES]
    created_at: UtcTime


class CandidateOut(Output):
    driver_id: str
    affiliation: str
    ring_distance: int = Field(ge=0)
    available_since: UtcTime
    outcome: Outcome
    reason: Literal["offered", "declined_before", "lost_race", "nearer_driver_offered",
                    "longer_waiting_driver_offered", "tie_broken_by_id"]


class DecisionOut(Output):
    at: UtcTime
    rule: Literal[DISPATCH_RULE]
    offered_to: str
    candidates: list[CandidateOut] = Field(min_length=1)


class DispatchRecord(Output):
    ride_id: str
    decisions: list[DecisionOut]


class CohortOut(Output):
    affiliation: str
    drivers: int = Field(ge=0)
    available_minutes: int = Field(ge=0)
    available_share: float = Field(ge=0, le=1)
    offers: int = Field(ge=0)
    offer_share: float = Field(ge=0, le=1)
    accepted: int = Field(ge=0)
    completed: int = Field(ge=0)


class TripBandOut(Output):
    band: Literal[BAND_NAMES]
    requests: int = Field(ge=0)
    offered: int = Field(ge=0)
    offer_rate: float = Field(ge=0)


class FairnessReport(Output):
    from_: UtcTime = Field(alias="from")
    to: UtcTime
    service: Service
    decisions: int = Field(ge=0)
    passed_over_nearer: int = Field(ge=0)
    cohorts: list[CohortOut]
    by_trip_length: list[TripBandOut] = Field(min_length=len(BAND_NAMES), max_length=len(BAND_NAMES))


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
    service: Service
    pickup: Position
    dropoff: Position
    fare_estimate_krw: Krw
    expires_at: UtcTime


class Offers(Output):
    items: list[Offer] = Field(max_length=1)
    next: NextCursor


class FairnessQuery(Input):
    model_config = Input.model_config | {"extra": "ignore"}

    from_: Moment = Field(alias="from")
    to: Moment
    service: Literal["taxi", "designated"]

"""Request and response shapes of the drivers' routes."""

from typing import Literal

from pydantic import Field, field_validator

from chalicelib.core.schemas import Input, Krw, Moment, NextCursor, Output, PageQuery, Point, Position, UtcTime
from chalicelib.drivers.rules import DriverStatus

Service = Literal["taxi", "designated"]


class DriverProfileIn(Input):
    name: str = Field(min_length=1, max_length=80)
    services: list[Service] = Field(min_length=1, max_length=2)
    region: str | None = Field(default=None, min_length=1, max_length=40)
    affiliation: str = Field(default="independent", min_length=1, max_length=40,
                             description="`independent` or a franchise's name; never changes who is offered a ride")

    @field_validator("affiliation")
    @classmethod
    def printable(cls, affiliation: str) -> str:
        if not affiliation.isprintable() or affiliation != affiliation.strip():
            raise ValueError("printable characters, no leading or trailing spaces")
        return affiliation

    @field_validator("services")
    @classmethod
    def distinct(cls, services: list[str]) -> list[str]:
        if len(set(services)) != len(services):
            raise ValueError("each service at most once")
        return services


class DriverStatusIn(Point):
    status: Literal["online", "offline"]


class DriverOut(Output):
    driver_id: str
    name: str
    services: list[Service] = Field(min_length=1)
    region: str | None
    affiliation: str
    status: Literal[tuple(status.value for status in DriverStatus)]
    position: Position | None
    rating: float | None = Field(ge=1, le=5)
    rating_count: int = Field(ge=0)
    complaint_count: int = Field(ge=0)


class EarningsQuery(Input):
    model_config = Input.model_config | {"extra": "ignore"}

    from_: Moment = Field(alias="from")
    to: Moment


class EarningsHour(Output):
    hour: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}$", description="The UTC hour, `YYYY-MM-DDTHH`")
    total_krw: Krw
    rides: int = Field(ge=0)


class EarningsOut(Output):
    total_krw: Krw
    rides: int = Field(ge=0)
    hours: list[EarningsHour]


class DispatchLogQuery(PageQuery):
    from_: Moment = Field(alias="from")
    to: Moment


class DispatchLogEntry(Output):
    ride_id: str
    at: UtcTime
    outcome: Literal["offered", "passed_over", "excluded"]
    ring_distance: int = Field(ge=0)
    reason: str = Field(min_length=1, description="Why, in words; never names another driver")


class DispatchLog(Output):
    items: list[DispatchLogEntry]
    next: NextCursor

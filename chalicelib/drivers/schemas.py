"""Request and response shapes of the drivers' routes."""

from typing import Literal

from pydantic import Field, field_validator

from chalicelib.core.schemas import Input, Moment, Output, PageQuery, Point

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
    services: list[str]
    region: str | None
    affiliation: str
    status: str
    position: dict | None
    rating: float | None
    rating_count: int
    complaint_count: int


class EarningsQuery(Input):
    model_config = Input.model_config | {"extra": "ignore"}

    from_: Moment = Field(alias="from")
    to: Moment


class EarningsOut(Output):
    total_krw: int
    rides: int
    hours: list[dict]


class DispatchLogQuery(PageQuery):
    from_: Moment = Field(alias="from")
    to: Moment


class DispatchLogEntry(Output):
    ride_id: str
    at: str
    outcome: Literal["offered", "passed_over", "excluded"]
    ring_distance: int
    reason: str


class DispatchLog(Output):
    items: list[DispatchLogEntry]
    next: str | None

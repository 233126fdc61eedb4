"""Request and response shapes of the drivers' routes."""

from typing import Literal

from pydantic import Field, field_validator

from chalicelib.core.schemas import Input, Moment, Output, Point

Service = Literal["taxi", "designated"]


class DriverProfileIn(Input):
    name: str = Field(min_length=1, max_length=80)
    services: list[Service] = Field(min_length=1, max_length=2)
    region: str | None = Field(default=None, min_length=1, max_length=40)

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

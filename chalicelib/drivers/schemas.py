"""Request and response shapes of the drivers' routes."""

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from chalicelib.core.schemas import Input, Output, Point

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

    from_: datetime = Field(alias="from")
    to: datetime

    @field_validator("from_", "to")
    @classmethod
    def aware(cls, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("give a timezone, e.g. 2022-10-15T06:00:00Z")
        return moment


class EarningsOut(Output):
    total_krw: int
    rides: int
    hours: list[dict]

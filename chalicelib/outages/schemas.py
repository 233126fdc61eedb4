"""Request shapes of the outage routes."""

from datetime import datetime

from pydantic import Field, field_validator

from chalicelib.core.schemas import Input, PageQuery

COMPONENT_NAME = r"^[a-z0-9][a-z0-9-]{0,39}$"


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("give a timezone, e.g. 2022-10-15T06:33:00Z")
    return moment


class ComponentIn(Input):
    name: str = Field(pattern=COMPONENT_NAME)
    probe_url: str | None = Field(default=None, max_length=500)
    heartbeat_timeout_s: int | None = Field(default=None, ge=10, le=86_400)


class IncidentIn(Input):
    components: list[str] = Field(min_length=1, max_length=50)
    started_at: datetime
    summary: str = Field(min_length=1, max_length=2000)

    @field_validator("started_at")
    @classmethod
    def started_aware(cls, moment: datetime) -> datetime:
        return _aware(moment)


class ResolveIn(Input):
    resolved_at: datetime | None = None

    @field_validator("resolved_at")
    @classmethod
    def resolved_aware(cls, moment: datetime | None) -> datetime | None:
        return _aware(moment)


class IncidentListQuery(PageQuery):
    pass

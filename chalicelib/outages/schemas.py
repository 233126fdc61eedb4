"""Request shapes of the outage routes."""

from pydantic import Field

from chalicelib.core.schemas import Input, Moment, PageQuery

COMPONENT_NAME = r"^[a-z0-9][a-z0-9-]{0,39}$"


class ComponentIn(Input):
    name: str = Field(pattern=COMPONENT_NAME)
    probe_url: str | None = Field(default=None, max_length=500)
    heartbeat_timeout_s: int | None = Field(default=None, ge=10, le=86_400)


class IncidentIn(Input):
    components: list[str] = Field(min_length=1, max_length=50)
    started_at: Moment
    summary: str = Field(min_length=1, max_length=2000)


class ResolveIn(Input):
    resolved_at: Moment | None = None


class IncidentListQuery(PageQuery):
    pass

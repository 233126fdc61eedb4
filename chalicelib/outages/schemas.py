"""Request and answer shapes of the outage routes."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.schemas import Input, Moment, Output, PageQuery, UtcTime

COMPONENT_NAME = r"^[a-z0-9][a-z0-9-]{0,39}$"
UpdateStatusName = Literal["investigating", "identified", "monitoring", "resolved"]


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


class UpdateIn(Input):
    status: UpdateStatusName
    message: str = Field(min_length=1, max_length=2000)


class IncidentListQuery(PageQuery):
    pass


class StatusPageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    lang: Literal["ko", "en"] | None = Field(default=None, description="ko (default) or en; else Accept-Language")


# --- answers ---------------------------------------------------------------------------------------------

class ComponentOut(Output):
    name: str
    state: Literal["up", "down"]
    probe_url: str | None
    heartbeat_timeout_s: int | None
    last_check_at: UtcTime | None
    incident_id: str | None


class HeartbeatOut(Output):
    component: str
    received_at: UtcTime


class ComponentWindow(Output):
    name: str
    started_at: UtcTime
    recovered_at: UtcTime | None


class TimelineEntry(Output):
    at: UtcTime
    event: str
    component: str | None
    note: str | None
    status: UpdateStatusName | None
    message: str | None


class IncidentHead(Output):
    """What an operator and the public both see of an incident."""

    incident_id: str
    state: Literal["open", "resolved"]
    source: Literal["detector", "declared"]
    summary: str
    components: list[str]
    component_windows: list[ComponentWindow]
    started_at: UtcTime
    detected_at: UtcTime
    resolved_at: UtcTime | None
    duration_s: int


class IncidentOut(IncidentHead):
    timeline: list[TimelineEntry]


class IncidentPage(Output):
    items: list[IncidentOut]
    next: str | None


class PublicUpdate(Output):
    at: UtcTime
    status: UpdateStatusName
    message: str | None = Field(description="the operator's words; none for the automatic opening and resolution")


class PublicIncident(IncidentHead):
    updates: list[PublicUpdate]


class UptimeDay(Output):
    date: str = Field(description="KST calendar day, YYYY-MM-DD")
    state: Literal["up", "down", "no_data"]
    down_s: int


class StatusComponent(Output):
    name: str
    state: Literal["up", "down"]
    uptime_90d: float = Field(description="percent of the last 90 days up (since watched, if later)")
    uptime_days: list[UptimeDay]


class StatusOut(Output):
    status: Literal["operational", "degraded", "major_outage"]
    updated_at: UtcTime
    components: list[StatusComponent]
    open_incidents: list[PublicIncident]
    recent_incidents: list[PublicIncident] = Field(description="resolved incidents of the last 90 days")
    history: list[PublicIncident] = Field(description="every incident of the last 90 days, open ones included")

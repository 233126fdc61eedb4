"""Request and response shapes every domain shares (pydantic)."""

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SERVICE_AREA = {"lat": (33.0, 38.9), "lng": (124.5, 131.9)}


class Input(BaseModel):
    """Base of every request body: unknown fields are refused, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class Output(BaseModel):
    """Base of every response body."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class Point(Input):
    """A position inside the service area (South Korea)."""

    lat: float = Field(ge=SERVICE_AREA["lat"][0], le=SERVICE_AREA["lat"][1])
    lng: float = Field(ge=SERVICE_AREA["lng"][0], le=SERVICE_AREA["lng"][1])


class PageQuery(BaseModel):
    """`?limit=&cursor=` of every list."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = None


class Health(Output):
    status: str
    stage: str
    time: str


class JobSummary(Output):
    job: str
    summary: dict


class ClockIn(Input):
    """Where to stop the local clock: ids (ULIDs) and retention dates need a moment in this century."""

    now: AwareDatetime | None = Field(ge=datetime(2000, 1, 1, tzinfo=UTC), le=datetime(2099, 12, 31, tzinfo=UTC))

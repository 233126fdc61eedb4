"""Request and response shapes every domain shares (pydantic)."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

SERVICE_AREA = {"lat": (33.0, 38.9), "lng": (124.5, 131.9)}
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
NUMBER = re.compile(r"\s*[+-]?\d+(\.\d*)?\s*")


def _iso_text(value: Any) -> Any:
    """A date-time arrives as ISO-8601 text: a number is no date (pydantic would read it as epoch seconds)."""
    if isinstance(value, bool | int | float) or (isinstance(value, str) and NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO-8601 date-time like 2022-10-15T06:33:00Z, not a number")
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO-8601 date-time like 2022-10-15T06:33:00Z") from None
    return value


def _this_century(moment: datetime) -> datetime:
    if not EARLIEST <= moment <= LATEST:
        raise ValueError("must be between 2000-01-01T00:00:00Z and 2099-12-31T23:59:59Z")
    return moment


# Every date-time a client sends: ISO-8601 with a zone, in 2000-01-01..2099-12-31 (ids, TTLs and the
# calendar all assume this century).
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_this_century)]


class Input(BaseModel):
    """Base of every request body: unknown fields are refused, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


class Output(BaseModel):
    """Base of every response body: the document refuses fields the model does not name."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


# Every time an answer holds, as clock.iso writes it: UTC, `Z`, milliseconds only when present.
UtcTime = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$",
                               json_schema_extra={"format": "date-time"})]
Krw = Annotated[int, Field(ge=0)]
# `next` of every list: the cursor of the next page, or null on the last one.
NextCursor = str | None


class Position(Output):
    """A position as answers show it."""

    lat: float
    lng: float


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
    status: Literal["ok"]
    stage: str
    time: UtcTime
    websocket_url: str | None = Field(default=None, description="Where this stage's real-time API listens")


class JobSummary(Output):
    job: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    summary: dict[str, int | bool | str | list[str]] = Field(
        description="What the job did, by counter (`moved`, `published`, `computed`, ...): depends on the job")


class ClockOut(Output):
    now: UtcTime
    frozen: bool


class ApiInfo(Output):
    title: str
    version: str
    description: str


class OpenApiDocument(Output):
    """This API's OpenAPI 3.1 document."""

    openapi: Literal["3.1.0"]
    info: ApiInfo
    servers: list[dict[str, str]] = Field(min_length=1)
    paths: dict[str, dict[Literal["get", "put", "post", "delete", "patch"], dict[str, Any]]]
    components: dict[Literal["schemas", "securitySchemes"], dict[str, dict[str, Any]]]


class ClockIn(Input):
    """Where to stop the local clock: ids (ULIDs) and retention dates need a moment in this century."""

    now: Moment | None

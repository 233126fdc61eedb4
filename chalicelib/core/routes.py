"""Routes every deployment has: health, the OpenAPI document, jobs on demand and the work queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import clock, jobs, tasks
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.auth import Caller
from chalicelib.core.config import get_settings
from chalicelib.core.errors import NotFound
from chalicelib.core.lazy import lazy_module

if TYPE_CHECKING:
    from chalicelib.core.schemas import ClockIn

api_document = lazy_module("chalicelib.core.openapi")  # pydantic's JSON schema: only when the document is asked for
core = ApiBlueprint(__name__)

ADMIN = ["admin"]
# The queue of infra/resources.json by logical id; the packaged template swaps in its real ARN
# (GetAtt WorkQueue.Arn) and the local stack resolves the logical id the same way.
WORK_QUEUE = "arn:aws:sqs:ap-northeast-2:000000000000:WorkQueue"


@core.route("/health", methods=["GET"], roles=None, response="Health")
def health():
    """Liveness of the API itself (no AWS calls): for load balancers and the outage probes; `websocket_url` is
    where this stage's real-time API listens."""
    settings = get_settings()
    return {"status": "ok", "stage": settings.stage, "time": clock.iso(clock.now()),
            "websocket_url": settings.websocket_url or None}


@core.route("/openapi.json", methods=["GET"], roles=None, response="OpenApiDocument")
def openapi():
    """This API's OpenAPI 3.1 document."""
    request = core.current_request
    host = request.headers.get("host", "")
    server = f"http://{host}/" if host.startswith(("127.", "localhost")) else "/"
    return api_document.openapi_document(core.current_app, server_url=server)


@core.route("/jobs/{job}/run", methods=["POST"], roles=ADMIN, response="JobSummary")
def run_job(job: str, caller: Caller):
    """Run a scheduled job now and return its summary."""
    return jobs.run_job(job, clock.now())


@core.route("/dev/clock", methods=["PUT"], roles=ADMIN, body="ClockIn", response="ClockOut", errors=[404])
def set_clock(body: ClockIn):
    """Local stack only (404 in AWS stages): stop the clock at `now` to replay a day (`make demo`); `null` resumes."""
    if not get_settings().is_local:
        raise NotFound("no such route")
    clock.use_clock(clock.FrozenClock(body.now) if body.now else clock.SystemClock())
    return {"now": clock.iso(clock.now()), "frozen": body.now is not None}


@core.job("redrive-dead-letters")
def redrive_dead_letters(now) -> dict:
    """Put the work queue's dead letters back on the queue (after the fault that failed them is fixed)."""
    return tasks.redrive_dead_letters()


@core.on_sqs_message(queue_arn=WORK_QUEUE, batch_size=10)
def work_queue_worker(event):
    """Run queued task chunks; failed messages are retried by SQS, then dead-lettered."""
    return tasks.run_queued_tasks(event.to_dict(), event.context)


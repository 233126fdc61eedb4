"""Outage routes: components and heartbeats, incidents, the public status page, and the detector job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Response

from chalicelib.core import clock
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.auth import Caller
from chalicelib.core.lazy import lazy_module

if TYPE_CHECKING:
    from chalicelib.outages.schemas import (
        ComponentIn,
        IncidentIn,
        IncidentListQuery,
        ResolveIn,
        StatusPageQuery,
        UpdateIn,
    )

service = lazy_module("chalicelib.outages.service")
pages = lazy_module("chalicelib.core.pages")  # the pages for people: not at cold start

outages = ApiBlueprint(__name__)
ADMIN = ["admin"]
PUBLIC_CACHE = {"Cache-Control": "public, max-age=30"}
BY_LANGUAGE = {**PUBLIC_CACHE, "Vary": "Accept-Language"}


@outages.route("/components", methods=["POST"], roles=ADMIN, body="ComponentIn", response="ComponentOut",
               status=201, errors=[409])
def register_component(caller: Caller, body: ComponentIn):
    """Watch a component by an HTTP(S) probe and/or a heartbeat timeout."""
    return service.register_component(body, clock.now())


@outages.route("/heartbeats/{component}", methods=["POST"], roles=["service"], response="HeartbeatOut")
def heartbeat(component: str, caller: Caller):
    """A service reports that it is alive."""
    return service.heartbeat(component, clock.now())


@outages.route("/status", methods=["GET"], roles=None, response="StatusOut")
def status():
    """Public: each component's state, open incidents and the last 90 days of incidents."""
    return Response(body=service.status(clock.now()), status_code=200,
                    headers={"Content-Type": "application/json", **PUBLIC_CACHE})


@outages.route("/status.html", methods=["GET"], roles=None, query="StatusPageQuery", media_type="text/html")
def status_page(query: StatusPageQuery):
    """Public: the status page for people, readable on a phone; Korean, or English with `?lang=en` or
    `Accept-Language: en`."""
    lang = pages.page_language(query.lang, outages.current_request.headers.get("accept-language"))
    return Response(body=service.status_page(lang, clock.now()), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Content-Language": lang, **BY_LANGUAGE})


@outages.route("/status/feed.atom", methods=["GET"], roles=None, query="StatusPageQuery",
               media_type="application/atom+xml")
def status_feed(query: StatusPageQuery):
    """Public: an Atom feed of the incidents of the last 90 days and their updates."""
    request = outages.current_request
    lang = pages.page_language(query.lang, request.headers.get("accept-language"))
    base = f'{request.headers.get("x-forwarded-proto", "http")}://{request.headers.get("host", "localhost")}'
    return Response(body=service.status_feed(base, lang, clock.now()), status_code=200,
                    headers={"Content-Type": "application/atom+xml; charset=utf-8", **BY_LANGUAGE})


@outages.route("/incidents", methods=["GET"], roles=ADMIN, query="IncidentListQuery", response="IncidentPage")
def list_incidents(query: IncidentListQuery):
    """Open incidents, then resolved ones, newest first."""
    return service.list_incidents(query, clock.now())


@outages.route("/incidents", methods=["POST"], roles=ADMIN, body="IncidentIn", response="IncidentOut", status=201)
def declare_incident(caller: Caller, body: IncidentIn):
    """Declare an incident by hand."""
    return service.declare_incident(caller, body, clock.now())


@outages.route("/incidents/{incident_id}", methods=["GET"], roles=ADMIN, response="IncidentOut")
def get_incident(incident_id: str):
    """One incident with its component windows and timeline."""
    return service.incident_for(incident_id, clock.now())


@outages.route("/incidents/{incident_id}/resolve", methods=["POST"], roles=ADMIN, body="ResolveIn",
               response="IncidentOut", errors=[409])
def resolve_incident(incident_id: str, caller: Caller, body: ResolveIn):
    """Resolve an open incident (at `resolved_at`, default now)."""
    return service.resolve_incident(caller, incident_id, body, clock.now())


@outages.route("/incidents/{incident_id}/updates", methods=["POST"], roles=ADMIN, body="UpdateIn",
               response="IncidentOut", status=201, errors=[409])
def post_update(incident_id: str, caller: Caller, body: UpdateIn):
    """Tell the public where an incident stands (on the status page and in the feed). A `resolved` update of
    an open incident resolves it now; a resolved incident takes only `resolved` follow-ups (else 409)."""
    return service.post_update(caller, incident_id, body, clock.now())


@outages.job("detect-outages", every_minutes=1)
def detect_outages(now) -> dict:
    """Check every component; three failures in a row open an incident, three successes resolve it."""
    return service.detect_outages(now)

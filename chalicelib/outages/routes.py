"""Outage routes: components and heartbeats, incidents, the public status page, and the detector job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Response

from chalicelib.core import clock
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.auth import Caller
from chalicelib.core.lazy import lazy_module
from chalicelib.outages.status_page import render_status_page

if TYPE_CHECKING:
    from chalicelib.outages.schemas import ComponentIn, IncidentIn, IncidentListQuery, ResolveIn

service = lazy_module("chalicelib.outages.service")

outages = ApiBlueprint(__name__)
ADMIN = ["admin"]
PUBLIC_CACHE = {"Cache-Control": "public, max-age=30"}


@outages.route("/components", methods=["POST"], roles=ADMIN, body="ComponentIn", status=201)
def register_component(caller: Caller, body: ComponentIn):
    """Watch a component by an HTTP(S) probe and/or a heartbeat timeout."""
    return service.register_component(body, clock.now())


@outages.route("/heartbeats/{component}", methods=["POST"], roles=["service"])
def heartbeat(component: str, caller: Caller):
    """A service reports that it is alive."""
    return service.heartbeat(component, clock.now())


@outages.route("/status", methods=["GET"], roles=None)
def status():
    """Public: each component's state, open incidents and the last 90 days of incidents."""
    return Response(body=service.status(clock.now()), status_code=200,
                    headers={"Content-Type": "application/json", **PUBLIC_CACHE})


@outages.route("/status.html", methods=["GET"], roles=None)
def status_page():
    """Public: the status page for people, readable on a phone."""
    return Response(body=render_status_page(service.status(clock.now())), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", **PUBLIC_CACHE})


@outages.route("/incidents", methods=["GET"], roles=ADMIN, query="IncidentListQuery")
def list_incidents(query: IncidentListQuery):
    """Open incidents, then resolved ones, newest first."""
    return service.list_incidents(query, clock.now())


@outages.route("/incidents", methods=["POST"], roles=ADMIN, body="IncidentIn", status=201)
def declare_incident(caller: Caller, body: IncidentIn):
    """Declare an incident by hand."""
    return service.declare_incident(caller, body, clock.now())


@outages.route("/incidents/{incident_id}", methods=["GET"], roles=ADMIN)
def get_incident(incident_id: str):
    """One incident with its component windows and timeline."""
    return service.incident_for(incident_id, clock.now())


@outages.route("/incidents/{incident_id}/resolve", methods=["POST"], roles=ADMIN, body="ResolveIn")
def resolve_incident(incident_id: str, caller: Caller, body: ResolveIn):
    """Resolve an open incident (at `resolved_at`, default now)."""
    return service.resolve_incident(caller, incident_id, body, clock.now())


@outages.job("detect-outages", every_minutes=1)
def detect_outages(now) -> dict:
    """Check every component; three failures in a row open an incident, three successes resolve it."""
    return service.detect_outages(now)

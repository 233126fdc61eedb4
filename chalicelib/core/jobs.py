"""Timed jobs: each runs on its schedule (EventBridge) and on demand via `POST /jobs/{job}/run`.

A job is a function `(now) -> summary` where the summary is a small JSON-able dict saying what
it did. Domains declare jobs on their blueprint with `ApiBlueprint.job`; this registry lets the
admin route and the local scheduler find them by name.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.core.errors import NotFound

JobFunction = Callable[[datetime], dict]


@dataclass(frozen=True)
class Job:
    """A named job and how often it runs by itself (None: on demand only)."""

    name: str
    run: JobFunction
    every_minutes: int | None


_registry: dict[str, Job] = {}


def register_job(name: str, run: JobFunction, every_minutes: int | None) -> Job:
    """Add a job to the registry; a name can be registered once."""
    if name in _registry and _registry[name].run is not run:
        raise ValueError(f"job {name!r} is registered twice")
    _registry[name] = Job(name, run, every_minutes)
    return _registry[name]


def registered_jobs() -> list[Job]:
    """Every job, by name."""
    return sorted(_registry.values(), key=lambda job: job.name)


def run_job(name: str, now: datetime) -> dict:
    """Run the job called `name` now and return its summary (404 for an unknown job)."""
    job = _registry.get(name)
    if job is None:
        known = ", ".join(job.name for job in registered_jobs())
        raise NotFound(f"no job called {name!r}; jobs: {known}")
    return {"job": name, "summary": job.run(now)}

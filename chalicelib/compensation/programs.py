"""What operators do with programs: set one up for an incident, read it, extend its intake; the intake job.

A program's status lives in rules.ProgramStatus; `due_key` orders it in the jobs' index (intakes by deadline,
the rest by creation).
"""

from datetime import datetime

from pydantic import BaseModel

from chalicelib.compensation import rules
from chalicelib.compensation.models import Program, ProgramTally
from chalicelib.compensation.params import PARAMS
from chalicelib.compensation.rules import ProgramKind, ProgramStatus, Tier
from chalicelib.compensation.schemas import ExtendIn, ProgramIn
from chalicelib.compensation.views import view_program
from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sort_key
from chalicelib.core.dynamo import conflict_on_condition, failed_on_condition, get_or_404
from chalicelib.core.errors import Conflict, invalid_field
from chalicelib.core.ids import new_id
from chalicelib.core.notify import notify
from chalicelib.core.observability import count
from chalicelib.outages import service as outages

NEVER = "~"
PROGRAMS_PAGE = 100  # keys read per Query of an incident's programs (a report reads every page)


def create_program(admin: Caller, program: ProgramIn, now: datetime) -> dict:
    """Set up a program of one kind for an incident; its window is the incident's."""
    spec = program.root
    params = spec.params
    opens_at, closes_at = getattr(params, "intake_opens_at", None), getattr(params, "intake_closes_at", None)
    problem = rules.new_intake_problem(opens_at, closes_at, now)
    if problem:
        raise invalid_field("params.intake_closes_at", problem)
    started_at, resolved_at = outages.incident_window(spec.incident_id)
    program_id, status = new_id("prg", now), rules.first_program_status(spec.kind)
    record = Program(program_id, name=spec.name, incident_id=spec.incident_id, kind=spec.kind,
                     params=params.model_dump(mode="json"), window_start=started_at, window_end=resolved_at,
                     budget_krw=getattr(params, "budget_krw", None), created_by=admin.sub, created_at=now,
                     updated_at=now, intake_opens_at=opens_at, intake_closes_at=closes_at, status=status,
                     due_key=_first_due(status, program_id, closes_at, now))
    record.save()
    count("ProgramsCreated")
    return view_program(record)


def program_detail(program_id: str) -> dict:
    """A program with its counts (and, for vouchers, how many riders took them)."""
    program = program_of(program_id)
    answer = view_program(program)
    if program.kind == ProgramKind.VOUCHER:
        answer["counts"]["takers"] = sum(int(t.count) for t in ProgramTally.query(program_id, ProgramTally.tally
                                                                                   .startswith("takers#")))
    return answer


def programs_of_incident(incident_id: str) -> list[dict]:
    """Every program set up for an incident, with its counts, oldest first (the incident report reads them).
    From the by_incident index, every page of it; each program is then read by id for current counts."""
    return [program_detail(p.program_id) for p in Program.by_incident.query(incident_id, page_size=PROGRAMS_PAGE)]


def extend_intake(admin: Caller, program_id: str, extension: ExtendIn, now: datetime) -> dict:
    """Move the intake deadline later, at most three times and only while intake is open."""
    program = program_of(program_id)
    problem = rules.extension_problem(int(program.extensions), program.intake_closes_at,
                                      extension.intake_closes_at, now)
    if problem:
        message, field = problem
        raise invalid_field(field, message) if field else Conflict(message)
    previous = program.intake_closes_at
    with conflict_on_condition("the program changed meanwhile; read it and try again"):
        program.update(condition=(Program.intake_closes_at == previous) & (Program.extensions < rules.MAX_EXTENSIONS)
                       & (Program.status == ProgramStatus.INTAKE_OPEN), actions=[
            Program.intake_closes_at.set(extension.intake_closes_at), Program.extensions.add(1),
            Program.params.set({**program.params, "intake_closes_at": iso(extension.intake_closes_at)}),
            Program.due_key.set(_due(extension.intake_closes_at, program_id)), Program.updated_at.set(now)])
    notify("intake_extended", {"program_id": program_id, "intake_closes_at": iso(extension.intake_closes_at)})
    return view_program(program)


def close_intake(now: datetime) -> dict:
    """The `close-intake` job: programs whose intake deadline has passed stop taking claims."""
    closed = []
    for program in Program.by_status.query(ProgramStatus.INTAKE_OPEN, Program.due_key <= f"{sort_key(now)}#~"):
        try:
            program.update(condition=(Program.status == ProgramStatus.INTAKE_OPEN) & (Program.intake_closes_at <= now),
                           actions=[Program.status.set(rules.next_program_status(program.status, "close_intake")),
                                    Program.due_key.set(sort_key(now)), Program.updated_at.set(now)])
            closed.append(program.program_id)
        except Exception as exc:
            if not failed_on_condition(exc):
                raise  # else extended meanwhile: it stays open
    return {"closed": closed}


def program_of(program_id: str) -> Program:
    """The program, or 404."""
    return get_or_404(Program, program_id, f"no program {program_id}")


def params_of(program: Program) -> BaseModel:
    """The program's params as their validated model."""
    return PARAMS[ProgramKind(program.kind)].model_validate(program.params)


def tiers_of(program: Program) -> tuple[Tier, ...]:
    """The program's payout tiers, lowest bound first (none for kinds without tiers)."""
    return tuple(Tier(t["max_loss_krw"], t["payout_krw"]) for t in program.params.get("tiers", ()))


def _first_due(status: ProgramStatus, program_id: str, closes_at: datetime | None, now: datetime) -> str:
    if status == ProgramStatus.INTAKE_OPEN:
        return _due(closes_at, program_id)
    if status == ProgramStatus.OPEN:
        return sort_key(now)
    return f"{sort_key(now)}#{program_id}"


def _due(closes_at: datetime | None, program_id: str) -> str:
    return f"{sort_key(closes_at)}#{program_id}" if closes_at else NEVER

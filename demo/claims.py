"""Small businesses, from the policy of 29 December 2022 to the close of intake on 30 June 2023: damage claims
through five channels, reviews (some after a request for documents), three extensions of the intake, three
payout rounds from mid-March; and the channel-message cash, first come while its budget lasts.

Each office day's work happens at 10:00 KST: the day's filings at once, then its documents, then its reviews.
"""

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise

from demo.client import ADMIN, Api
from demo.timeline import (
    INTAKE_CLOSES,
    INTAKE_EXTENSIONS,
    INTAKE_FIRST_CLOSE,
    LAST_FILING,
    MESSAGE_CASH_CLOSES,
    POLICY,
    ROUNDS,
    SEOUL_TIME,
    iso,
    kst,
)

CHANNELS = ("chatbot", "web", "phone", "mail", "visit")
CHANNEL_WEIGHTS = (35, 30, 15, 10, 10)
REJECTIONS = ("no operating margin was shown", "alternatives to the platform were available",
              "the platform's share of sales was too small")
PHASES = ("extend", "file", "documents", "review", "close", "round")
MESSAGE_CASH_KRW = 50_000


@dataclass
class Step:
    at: datetime
    phase: str
    business: str = ""
    body: dict = field(default_factory=dict)


@dataclass
class Claims:
    """What the business claims program went through, as the scenario did it."""

    filed: int = 0
    approved: int = 0
    rejected: int = 0
    approved_krw: int = 0
    by_tier: dict[str, list[int]] = field(default_factory=dict)
    approved_at: dict[str, datetime] = field(default_factory=dict)     # claim id -> review completed
    rounds: list[dict] = field(default_factory=list)                   # GET /payouts/{id} once paid


def office_day(moment: datetime) -> datetime:
    """10:00 KST of the moment's day in Seoul."""
    day = moment.astimezone(SEOUL_TIME)
    return kst(day.year, day.month, day.day, 10)


def claim_steps(rng: random.Random, claims: int, approvals: int) -> list[Step]:
    """Every dated step of the business claims program, in time order: filings skewed to the first weeks,
    reviews 3 to 9 days later (4 more when documents were asked for), at least one approval before each round."""
    span = LAST_FILING - POLICY
    filed = [office_day(POLICY + span * ((n + rng.random()) / claims) ** 1.8) for n in range(claims)]
    asks_documents = [rng.random() < 0.15 for _ in range(claims)]
    decided = [day + timedelta(days=rng.randrange(3, 10) + 4 * asked) for day, asked in zip(filed, asks_documents,
                                                                                            strict=True)]
    approved = _approved(rng, decided, approvals)
    deadlines = (INTAKE_FIRST_CLOSE, *INTAKE_EXTENSIONS)
    steps = [Step(office_day(current - timedelta(days=7)), "extend", body={"intake_closes_at": iso(later)})
             for current, later in pairwise(deadlines)]
    steps += [Step(INTAKE_CLOSES + timedelta(minutes=1), "close")]
    steps += [Step(at, "round") for at in ROUNDS]
    for n in range(claims):
        business = f"biz-{n:04d}"
        loss = _loss(rng, n in approved)
        steps.append(Step(filed[n], "file", business, {
            "business_id": business, "business_name": f"Business {n}", "loss_krw": loss,
            "channel": rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0], "evidence": [f"receipts-{n}.pdf"]}))
        if asks_documents[n]:
            asked_at = decided[n] - timedelta(days=4)
            steps.append(Step(asked_at, "review", business, {"decision": "request_documents",
                                                             "reason": "please add the sales ledger"}))
            steps.append(Step(asked_at + timedelta(days=2), "documents", business, {"evidence": [f"ledger-{n}.pdf"]}))
        steps.append(Step(decided[n], "review", business, _decision(rng, loss, n in approved)))
    return sorted(steps, key=lambda s: (s.at, PHASES.index(s.phase)))


def _approved(rng: random.Random, decided: list[datetime], approvals: int) -> set[int]:
    """Which claims meet the criteria: `approvals` of them, one decided before each round where there is one."""
    chosen: set[int] = set()
    for previous, this in zip((POLICY, *ROUNDS), ROUNDS, strict=False):
        window = [n for n, at in enumerate(decided) if previous <= at < this]
        if window and len(chosen) < approvals:
            chosen.add(rng.choice(window))
    rest = [n for n in range(len(decided)) if n not in chosen]
    return chosen | set(rng.sample(rest, approvals - len(chosen)))


def _loss(rng: random.Random, meets_criteria: bool) -> int:
    if not meets_criteria:
        return rng.randrange(5, 500) * 10_000
    band = rng.random()
    if band < 0.45:
        return rng.choice([300_000, rng.randrange(5, 30) * 10_000])
    if band < 0.75:
        return rng.choice([500_000, 300_001, rng.randrange(31, 50) * 10_000])
    return rng.randrange(60, 260) * 10_000


def _decision(rng: random.Random, loss: int, meets_criteria: bool) -> dict:
    if not meets_criteria:
        return {"decision": "reject", "reason": rng.choice(REJECTIONS)}
    if loss > 500_000:                               # above the top tier: reviewed one by one
        return {"decision": "approve", "amount_krw": loss * 55 // 100 // 10_000 * 10_000}
    return {"decision": "approve"}


def work_through(api: Api, program_id: str, steps: list[Step], pay_round, done) -> Claims:
    """Run the steps moment by moment; a moment's steps of one phase at once."""
    claims, claim_ids = Claims(), {}
    batches: dict[tuple[datetime, str], list[Step]] = defaultdict(list)
    for step in steps:
        batches[(step.at, step.phase)].append(step)
    for (at, phase), batch in batches.items():
        api.travel_to(at)
        if phase == "round":
            claims.rounds.append(pay_round(program_id))
        elif phase == "close":
            api.run_job("close-intake")
        elif phase == "extend":
            api.call("POST", f"/programs/{program_id}/extend", ADMIN, batch[0].body)
        else:
            api.each(lambda step, at=at: _claim_step(api, program_id, step, at, claims, claim_ids), batch)
        for _ in batch:
            done()
    return claims


def _claim_step(api: Api, program_id: str, step: Step, at: datetime, claims: Claims, claim_ids: dict) -> None:
    business = ("business", step.business)
    if step.phase == "file":
        filed = api.call("POST", f"/programs/{program_id}/claims", business, step.body,
                         headers={"Idempotency-Key": f"{program_id}-{step.business}"}, expect=201)
        claim_ids[step.business] = filed["claim_id"]
        claims.filed += 1
    elif step.phase == "documents":
        api.call("POST", f"/claims/{claim_ids[step.business]}/documents", business, step.body)
    else:
        decided = api.call("POST", f"/claims/{claim_ids[step.business]}/review", ADMIN, step.body)
        if step.body["decision"] == "approve":
            claims.approved += 1
            claims.approved_krw += decided["payout_krw"]
            claims.approved_at[claim_ids[step.business]] = at
            counts = claims.by_tier.setdefault(decided["tier"], [0, 0])
            counts[0], counts[1] = counts[0] + 1, counts[1] + decided["payout_krw"]
        elif step.body["decision"] == "reject":
            claims.rejected += 1


# --- channel-message cash -------------------------------------------------------------------------------------

def message_cash_days(rng: random.Random, grants: int) -> list[tuple[datetime, list[str]]]:
    """Who applies on which office day, policy to deadline, most in the first days; one more than the
    budget pays applies last."""
    span = MESSAGE_CASH_CLOSES - timedelta(days=1) - POLICY
    days: dict[datetime, list[str]] = defaultdict(list)
    for n in range(grants):
        days[office_day(POLICY + span * rng.random() ** 2)].append(f"shop-{n:04d}")
    last = office_day(MESSAGE_CASH_CLOSES - timedelta(hours=9))
    return [*sorted(days.items()), (last + timedelta(hours=1), [f"shop-{grants:04d}"])]


def apply_for_message_cash(api: Api, program_id: str, days: list[tuple[datetime, list[str]]], done) -> dict:
    """Businesses apply day by day; returns {granted, refused: [(business, error message)]}."""
    outcome: dict = {"granted": 0, "refused": []}

    def apply(business: str) -> None:
        answer = api.call("POST", f"/programs/{program_id}/claims", ("business", business), {
            "business_id": business, "business_name": f"Shop {business[5:]}", "channel": "web", "evidence": []},
            expect=(201, 409))
        if answer.get("status") == "approved":
            outcome["granted"] += 1
        else:
            outcome["refused"].append((business, answer.get("error", {}).get("message", str(answer))))

    for day, businesses in days:
        api.travel_to(day)
        api.each(apply, businesses, done)
    return outcome

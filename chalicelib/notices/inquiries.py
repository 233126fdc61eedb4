"""Drivers send inquiries from the app; an operator answers each one."""

from datetime import datetime

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso
from chalicelib.core.dynamo import conflict_on_condition, get_or_404
from chalicelib.core.errors import NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.notify import notify
from chalicelib.core.observability import count
from chalicelib.core.pagination import page_over
from chalicelib.notices import rules
from chalicelib.notices.models import Inquiry
from chalicelib.notices.rules import InquiryStatus
from chalicelib.notices.schemas import AnswerIn, InquiryIn, InquiryListQuery


def ask(driver_id: str, inquiry: InquiryIn, now: datetime) -> dict:
    """A driver sends an inquiry; an operator answers it one by one."""
    record = Inquiry(new_id("inq", now), driver_id=driver_id, category=inquiry.category, text=inquiry.text,
                     status=InquiryStatus.OPEN, created_at=now)
    record.save()
    count("InquiriesOpened")
    return view_inquiry(record)


def list_inquiries(caller: Caller, query: InquiryListQuery) -> dict:
    """A driver's own inquiries, or for admins every inquiry (by status when given), newest first."""
    def by(index, key):
        def run(limit: int, last_key):
            return index.query(key, scan_index_forward=False, limit=limit, last_evaluated_key=last_key)
        return run

    if caller.role == "admin":
        statuses = [query.status] if query.status else list(InquiryStatus)
        sources = [by(Inquiry.by_status, status) for status in statuses]
        items, cursor = page_over(sources, query.limit, query.cursor)
    else:
        items, cursor = page_over([by(Inquiry.by_driver, caller.sub)], query.limit, query.cursor,
                                  keep=lambda i: query.status in (None, i.status))
    return {"items": [view_inquiry(i) for i in items], "next": cursor}


def answer(admin: Caller, inquiry_id: str, reply: AnswerIn, now: datetime) -> dict:
    """Answer an open inquiry; the driver is notified."""
    record = _inquiry(inquiry_id)
    with conflict_on_condition(rules.ANSWERED_ALREADY):
        record.update(condition=Inquiry.status == InquiryStatus.OPEN, actions=[
            Inquiry.status.set(rules.next_inquiry_status(record.status, "answer")), Inquiry.answer.set(reply.text),
            Inquiry.answered_by.set(admin.sub), Inquiry.answered_at.set(now)])
    notify("inquiry_answered", {"inquiry_id": inquiry_id}, driver_id=record.driver_id)
    return view_inquiry(record)


def inquiry_for(caller: Caller, inquiry_id: str) -> dict:
    """One inquiry with its answer: admins see any, a driver only their own."""
    record = _inquiry(inquiry_id)
    if caller.role != "admin" and not caller.is_the("driver", record.driver_id):
        raise NotFound(f"no inquiry {inquiry_id}")
    return view_inquiry(record)


def view_inquiry(record: Inquiry) -> dict:
    """An inquiry as the API shows it."""
    return {"inquiry_id": record.inquiry_id, "driver_id": record.driver_id, "category": record.category,
            "text": record.text, "status": record.status, "created_at": iso(record.created_at),
            "answer": record.answer, "answered_at": iso(record.answered_at) if record.answered_at else None}


def _inquiry(inquiry_id: str) -> Inquiry:
    return get_or_404(Inquiry, inquiry_id, f"no inquiry {inquiry_id}")

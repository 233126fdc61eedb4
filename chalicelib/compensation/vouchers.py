"""What riders do with voucher programs: take the pack (once: taking it again gives the same), read their own.

Vouchers are taken on demand, never written for every eligible rider; takers are counted in sharded tallies
so millions of takes do not queue on one item.
"""

import time
from datetime import datetime
from zlib import crc32

from chalicelib.compensation import rules
from chalicelib.compensation.models import ProgramTally, VoucherGrant
from chalicelib.compensation.programs import program_of
from chalicelib.compensation.rules import ProgramKind, VoucherItem
from chalicelib.compensation.views import iso_or_none
from chalicelib.core.clock import iso
from chalicelib.core.dynamo import retry_contended, transaction
from chalicelib.core.errors import Conflict
from chalicelib.core.ids import stable_id
from chalicelib.core.observability import count
from chalicelib.core.pagination import page_over
from chalicelib.core.schemas import PageQuery

TAKER_SHARDS = 16
VOUCHER_PACK_KEPT_S = 60
TAKEN_ALREADY = "this rider has taken the pack already"
_VOUCHER_PACKS: dict[str, tuple[float, tuple[VoucherItem, ...]]] = {}


def take_vouchers(rider_id: str, program_id: str, now: datetime) -> dict:
    """A rider takes the program's voucher pack; taking it again returns the same vouchers. At most 3 reads/writes.

    Millions take the pack within days: the pack (fixed once the program exists) is kept in the container for a
    minute, so the program's item is not read by every take.
    """
    items = _voucher_pack(program_id)
    vouchers = [{"voucher_id": stable_id("vch", now, program_id, rider_id, str(n)), "program_id": program_id,
                 "name": v["name"], "issued_at": iso(v["issued_at"]), "expires_at": iso_or_none(v["expires_at"])}
                for n, v in enumerate(rules.vouchers_for(items, now))]
    grant = VoucherGrant(rider_id, program_id, vouchers=vouchers, taken_at=now)

    def write() -> None:
        with transaction() as tx:
            tx.save(grant, condition=VoucherGrant.rider_id.does_not_exist(), conflict=TAKEN_ALREADY)
            tx.update(ProgramTally(program_id, f"takers#{crc32(rider_id.encode()) % TAKER_SHARDS}"),
                      actions=[ProgramTally.count.add(1)])

    try:
        retry_contended(write)
        count("VoucherPacksTaken")
    except Conflict:  # taken before: the same vouchers again, not a 409
        grant = VoucherGrant.get(rider_id, program_id, consistent_read=True)
    return {"program_id": program_id, "taken_at": iso(grant.taken_at), "vouchers": grant.vouchers}


def my_vouchers(rider_id: str, page: PageQuery) -> dict:
    """The vouchers a rider took, newest program first."""
    def own(limit, last_key):
        return VoucherGrant.query(rider_id, scan_index_forward=False, limit=limit, last_evaluated_key=last_key)

    grants, cursor = page_over([own], page.limit, page.cursor)
    return {"items": [voucher for grant in grants for voucher in grant.vouchers], "next": cursor}


def _voucher_pack(program_id: str) -> tuple[VoucherItem, ...]:
    cached = _VOUCHER_PACKS.get(program_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    program = program_of(program_id)
    if program.kind != ProgramKind.VOUCHER:
        raise Conflict(f"a {program.kind} program has no vouchers")
    items = tuple(VoucherItem(i["name"], i["valid_days"]) for i in program.params["items"])
    _VOUCHER_PACKS[program_id] = (time.monotonic() + VOUCHER_PACK_KEPT_S, items)
    return items

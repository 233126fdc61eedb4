"""Programs, the claims and entitlements they pay, their tallies, and the vouchers riders took."""

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.core.dynamo import TableMeta


class ProgramsByStatus(GlobalSecondaryIndex):
    """Programs by status, for the jobs: `intake_open` by deadline, `to_compute` / `computing` by creation."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    due_key = UnicodeAttribute(range_key=True)


class ProgramsByIncident(GlobalSecondaryIndex):
    """An incident's programs, oldest first. Keys only: the counters every claim moves are not copied into the
    index, so claims cost it no writes; readers get each program by id."""

    class Meta:
        index_name = "by_incident"
        projection = KeysOnlyProjection()

    incident_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Program(Model):
    """One compensation program for one incident; `kind` is a rules.ProgramKind, `params` its validated params.

    The counters change in the same transaction as the claims they count, so the report never scans claims.
    """

    class Meta(TableMeta):
        table_setting = "programs_table"

    program_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    incident_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    params = JSONAttribute()
    status = UnicodeAttribute()                # intake_open | intake_closed | open | to_compute | computing | computed
    due_key = UnicodeAttribute()
    window_start = UTCDateTimeAttribute()
    window_end = UTCDateTimeAttribute(null=True)
    intake_opens_at = UTCDateTimeAttribute(null=True)
    intake_closes_at = UTCDateTimeAttribute(null=True)
    extensions = NumberAttribute(default=0)
    budget_krw = NumberAttribute(null=True)
    filed_count = NumberAttribute(default=0)
    approved_count = NumberAttribute(default=0)
    approved_krw = NumberAttribute(default=0)
    rejected_count = NumberAttribute(default=0)
    awaiting_documents_count = NumberAttribute(default=0)
    paid_count = NumberAttribute(default=0)
    paid_krw = NumberAttribute(default=0)
    computed_at = UTCDateTimeAttribute(null=True)
    chains = NumberAttribute(default=1)                   # parallel chains of chunks computing entitlements
    chains_done = UnicodeSetAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    by_status = ProgramsByStatus()
    by_incident = ProgramsByIncident()


class ProgramTally(Model):
    """A counter of a program kept apart from the program's item: per tier (`tier#<label>`), or voucher takers
    spread over shards (`takers#<n>`) so millions of takes do not all write one item."""

    class Meta(TableMeta):
        table_setting = "program_tallies_table"

    program_id = UnicodeAttribute(hash_key=True)
    tally = UnicodeAttribute(range_key=True)
    count = NumberAttribute(default=0)
    amount_krw = NumberAttribute(default=0)
    paid_count = NumberAttribute(default=0)
    paid_krw = NumberAttribute(default=0)


class ClaimEvent(MapAttribute):
    at = UTCDateTimeAttribute()
    status = UnicodeAttribute()
    by = UnicodeAttribute()
    note = UnicodeAttribute(null=True)


class ClaimsByPayee(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_payee"
        projection = AllProjection()

    payee_id = UnicodeAttribute(hash_key=True)
    claim_id = UnicodeAttribute(range_key=True)


class ClaimsByProgramStatus(GlobalSecondaryIndex):
    """A program's claims in one status (`<program_id>#<status>`), in filing order: the reviewers' queue."""

    class Meta:
        index_name = "by_program_status"
        projection = AllProjection()

    program_status = UnicodeAttribute(hash_key=True)
    filed_key = UnicodeAttribute(range_key=True)


class PayableClaims(GlobalSecondaryIndex):
    """Approved claims in no payout round yet, by filing then review time. Sparse: `payable_key` is removed
    when a round takes the claim, and it is spread over shards (`<program_id>#<n>`) for large programs."""

    class Meta:
        index_name = "payable"
        projection = AllProjection()

    payable_key = UnicodeAttribute(hash_key=True)
    payable_sort = UnicodeAttribute(range_key=True)


class Claim(Model):
    """What one payee is owed by one program: a business's claim, or an entitlement computed for a driver or
    rider (approved from the start). `status` is a rules.ClaimStatus."""

    class Meta(TableMeta):
        table_setting = "claims_table"

    claim_id = UnicodeAttribute(hash_key=True)
    program_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    payee_id = UnicodeAttribute()
    payee_role = UnicodeAttribute()
    payee_name = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    channel = UnicodeAttribute(null=True)
    loss_krw = NumberAttribute(null=True)
    evidence = ListAttribute(of=UnicodeAttribute, default=list)
    tier = UnicodeAttribute(null=True)
    payout_krw = NumberAttribute(null=True)
    basis = JSONAttribute(null=True)               # how an entitlement was computed
    reason = UnicodeAttribute(null=True)
    filed_at = UTCDateTimeAttribute()
    reviewed_at = UTCDateTimeAttribute(null=True)
    reviewed_by = UnicodeAttribute(null=True)
    round_id = UnicodeAttribute(null=True)
    ledger_entry_id = UnicodeAttribute(null=True)
    paid_at = UTCDateTimeAttribute(null=True)
    payee_notified_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    history = ListAttribute(of=ClaimEvent, default=list)
    program_status = UnicodeAttribute()
    filed_key = UnicodeAttribute()
    payable_key = UnicodeAttribute(null=True)
    payable_sort = UnicodeAttribute(null=True)
    by_payee = ClaimsByPayee()
    by_program_status = ClaimsByProgramStatus()
    payable = PayableClaims()


class Claimant(Model):
    """Marks that a business has filed in a program (in the claims table): one claim per business per program."""

    class Meta(TableMeta):
        table_setting = "claims_table"

    claim_id = UnicodeAttribute(hash_key=True)     # claimant#<program_id>#<business_id>
    filed_claim_id = UnicodeAttribute()


class VoucherGrant(Model):
    """The vouchers one rider took from one program: written only when the rider asks."""

    class Meta(TableMeta):
        table_setting = "voucher_grants_table"

    rider_id = UnicodeAttribute(hash_key=True)
    program_id = UnicodeAttribute(range_key=True)
    vouchers = JSONAttribute()
    taken_at = UTCDateTimeAttribute()

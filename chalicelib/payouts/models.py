"""Payout rounds and their frozen chunks, the ledger, payees' wallets, and the local transfer provider's book."""

from pynamodb.attributes import (
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.core.dynamo import TableMeta


class RoundsByProgram(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_program"
        projection = AllProjection()

    program_id = UnicodeAttribute(hash_key=True)
    round_id = UnicodeAttribute(range_key=True)


class PayoutRound(Model):
    """A batch of a program's approved claims, paid once a second admin approves it.

    `status` is a rules.RoundStatus: creating -> pending_approval -> paying -> paid (or abandoned if creating failed).
    `failing` holds the claims whose last payment attempt failed.
    """

    class Meta(TableMeta):
        table_setting = "payout_rounds_table"

    round_id = UnicodeAttribute(hash_key=True)
    program_id = UnicodeAttribute()
    status = UnicodeAttribute()
    claim_count = NumberAttribute(default=0)
    total_krw = NumberAttribute(default=0)
    chunk_count = NumberAttribute(default=0)
    paid_count = NumberAttribute(default=0)
    paid_krw = NumberAttribute(default=0)
    failing = UnicodeSetAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    approved_by = UnicodeAttribute(null=True)
    approved_at = UTCDateTimeAttribute(null=True)
    paid_at = UTCDateTimeAttribute(null=True)
    by_program = RoundsByProgram()


class RoundChunk(Model):
    """A slice of a round's members, frozen when the round is created; one queue message pays one chunk."""

    class Meta(TableMeta):
        table_setting = "payout_chunks_table"

    round_id = UnicodeAttribute(hash_key=True)
    chunk_no = NumberAttribute(range_key=True)
    claim_ids = ListAttribute(of=UnicodeAttribute)
    total_krw = NumberAttribute()
    paid_count = NumberAttribute(default=0)


class LedgerByProgram(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_program"
        projection = AllProjection()

    program_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)


class LedgerEntry(Model):
    """Money that moved: keyed by the claim, so a claim can never be paid twice."""

    class Meta(TableMeta):
        table_setting = "ledger_table"

    claim_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute()
    program_id = UnicodeAttribute()
    round_id = UnicodeAttribute()
    payee_id = UnicodeAttribute()
    amount_krw = NumberAttribute()
    method = UnicodeAttribute()                 # wallet | transfer
    transfer_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    by_program = LedgerByProgram()


class Wallet(Model):
    """A payee's balance on the platform: rider credits, drivers' compensation, message cash.

    A wallet belongs to an identity, (role, sub): a rider and a driver with the same sub have two.
    """

    class Meta(TableMeta):
        table_setting = "wallets_table"

    owner = UnicodeAttribute(hash_key=True, attr_name="payee_id")  # `Wallet.owner_of(role, payee_id)`
    balance_krw = NumberAttribute(default=0)

    @staticmethod
    def owner_of(role: str, payee_id: str) -> str:
        return f"{role}#{payee_id}"


class Transfer(Model):
    """What the local transfer provider (standing in for a bank) has sent, keyed by the caller's idempotency key."""

    class Meta(TableMeta):
        table_setting = "transfers_table"

    idempotency_key = UnicodeAttribute(hash_key=True)
    transfer_id = UnicodeAttribute()
    payee_id = UnicodeAttribute()
    amount_krw = NumberAttribute()
    memo = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()

"""Money that leaves the platform (business damage payouts) goes through a transfer provider: a bank's API.

The provider is an outside party, so it sits behind this interface. Every call carries an idempotency key
(the ledger entry's id): calling twice with the same key sends the money once and returns the same transfer.
The local provider keeps its book in its own DynamoDB table; a bank adapter implements the same protocol.
"""

from datetime import datetime
from functools import lru_cache
from typing import Protocol

from pynamodb.exceptions import PutError

from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import failed_on_condition
from chalicelib.core.ids import new_id
from chalicelib.payouts.models import Transfer


class TransferFailed(Exception):
    """The provider refused or could not complete a transfer; it may succeed when tried again."""


class TransferProvider(Protocol):
    def transfer(self, idempotency_key: str, payee_id: str, amount_krw: int, memo: str, now: datetime) -> str:
        """Send `amount_krw` to the payee once per key; returns the provider's transfer id."""


class LocalTransferProvider:
    """Records transfers in the transfers table, exactly once per idempotency key."""

    def transfer(self, idempotency_key: str, payee_id: str, amount_krw: int, memo: str, now: datetime) -> str:
        record = Transfer(idempotency_key, transfer_id=new_id("trf", now), payee_id=payee_id, amount_krw=amount_krw,
                          memo=memo, created_at=now)
        try:
            record.save(condition=Transfer.idempotency_key.does_not_exist())
        except PutError as exc:
            if not failed_on_condition(exc):
                raise TransferFailed(str(exc)) from exc
            record = Transfer.get(idempotency_key, consistent_read=True)
            if int(record.amount_krw) != amount_krw or record.payee_id != payee_id:
                raise TransferFailed(f"key {idempotency_key} was used for another transfer") from exc
        return record.transfer_id


PROVIDERS = {"local": LocalTransferProvider}


@lru_cache(maxsize=1)
def provider() -> TransferProvider:
    """The provider named by the `TRANSFER_PROVIDER` setting."""
    return PROVIDERS[get_settings().transfer_provider]()

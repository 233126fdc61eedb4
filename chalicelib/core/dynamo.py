"""DynamoDB helpers shared by every domain's PynamoDB models."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict


class _TableFromSettings(type):
    """Metaclass of a model's Meta: the table name comes from settings when first used."""

    @property
    def table_name(cls) -> str:
        return getattr(get_settings(), cls.table_setting)


class TableMeta(metaclass=_TableFromSettings):
    """Base for a PynamoDB `Meta`: set `table_setting` to the Settings field naming the table.

    Table names differ per stage and arrive through the environment while a handler runs,
    so they cannot be read when the model class is defined.
    """

    table_setting = ""


LOST_RACE = {"ConditionalCheckFailed", "TransactionConflict"}


def failed_on_condition(exc: Exception) -> bool:
    """True when a write lost a race: a condition failed, or a concurrent transaction held the same item."""
    cause = getattr(exc, "cause_response_code", None)
    if cause in ("ConditionalCheckFailedException", "TransactionConflictException"):
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(reason and reason.code in LOST_RACE for reason in reasons)


@contextmanager
def conflict_on_condition(message: str) -> Iterator[None]:
    """Turn a failed DynamoDB condition (put, update or transaction) into a 409 `Conflict`."""
    try:
        yield
    except (PutError, UpdateError, TransactWriteError) as exc:
        if failed_on_condition(exc):
            raise Conflict(message) from exc
        raise


@lru_cache(maxsize=1)
def connection() -> Connection:
    """The low-level connection transactions go through (built on first use)."""
    return Connection()


def transaction() -> TransactWrite:
    """A new all-or-nothing write: `with transaction() as tx: tx.update(...); tx.save(...)`."""
    return TransactWrite(connection=connection())

"""DynamoDB helpers shared by every domain's PynamoDB models."""

from collections.abc import Iterator
from contextlib import contextmanager

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

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


def _failed_on_condition(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    if cause == "ConditionalCheckFailedException":
        return True
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return any(reason and reason.code == "ConditionalCheckFailed" for reason in reasons)


@contextmanager
def conflict_on_condition(message: str) -> Iterator[None]:
    """Turn a failed DynamoDB condition (put, update or transaction) into a 409 `Conflict`."""
    try:
        yield
    except (PutError, UpdateError, TransactWriteError) as exc:
        if _failed_on_condition(exc):
            raise Conflict(message) from exc
        raise

"""DynamoDB helpers shared by every domain's PynamoDB models."""

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, NotFound

T = TypeVar("T")
M = TypeVar("M", bound=Model)


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


def only_contended(exc: Exception) -> bool:
    """True when DynamoDB cancelled a transaction only because another one held an item: worth retrying."""
    if getattr(exc, "cause_response_code", None) == "TransactionConflictException":
        return True
    codes = {reason.code for reason in getattr(exc, "cancellation_reasons", None) or [] if reason is not None}
    return bool(codes) and codes <= {"TransactionConflict", "None"}


def retry_contended(write: Callable[[], T], attempts: int = 4) -> T:
    """Run `write` (a transaction), again after a short pause when it lost only to a concurrent transaction."""
    for attempt in range(attempts):
        try:
            return write()
        except TransactWriteError as exc:
            if not only_contended(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * 2 ** attempt * (1 + random.random()))
    raise AssertionError("unreachable")


@contextmanager
def conflict_on_condition(message: str) -> Iterator[None]:
    """Turn a failed DynamoDB condition (put, update or transaction) into a 409 `Conflict`."""
    try:
        yield
    except (PutError, UpdateError, TransactWriteError) as exc:
        if failed_on_condition(exc):
            raise Conflict(message) from exc
        raise


def get_or_404(model: type[M], key: str, message: str, consistent_read: bool = False) -> M:
    """The item of `model` with hash key `key`, or a 404 saying `message`."""
    try:
        return model.get(key, consistent_read=consistent_read)
    except DoesNotExist as exc:
        raise NotFound(message) from exc


@lru_cache(maxsize=1)
def connection() -> Connection:
    """The low-level connection transactions go through (built on first use)."""
    return Connection()


def transaction() -> "GuardedTransaction":
    """A new all-or-nothing write: `with transaction() as tx: tx.update(..., conflict="..."); tx.save(...)`."""
    return GuardedTransaction(connection=connection())


class GuardedTransaction(TransactWrite):
    """A transaction whose items may each name the conflict their condition stands for.

        with transaction() as tx:
            tx.update(claim, condition=..., actions=..., conflict="the claim was reviewed meanwhile")
            tx.update(program, condition=..., actions=..., conflict="the budget is spent")

    When DynamoDB cancels it because one of those conditions failed, the commit raises `Conflict` with
    that item's message. Items are matched by kind and order, the way DynamoDB reports them (PynamoDB
    sends condition checks, deletes, puts, then updates, whatever order they were written in). Anything
    else, including a condition with no message and a clash with a concurrent transaction, is raised as it is.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._conflicts: dict[str, list[str | None]] = {"check": [], "delete": [], "put": [], "update": []}

    def condition_check(self, model_cls, hash_key, range_key=None, condition=None, *, conflict: str | None = None):
        super().condition_check(model_cls, hash_key, range_key=range_key, condition=condition)
        self._conflicts["check"].append(conflict)

    def delete(self, model, condition=None, *, add_version_condition: bool = True, conflict: str | None = None):
        super().delete(model, condition=condition, add_version_condition=add_version_condition)
        self._conflicts["delete"].append(conflict)

    def save(self, model, condition=None, return_values=None, *, conflict: str | None = None):
        super().save(model, condition=condition, return_values=return_values)
        self._conflicts["put"].append(conflict)

    def update(self, model, actions, condition=None, return_values=None, *, add_version_condition: bool = True,
               conflict: str | None = None):
        super().update(model, actions, condition=condition, return_values=return_values,
                       add_version_condition=add_version_condition)
        self._conflicts["update"].append(conflict)

    def _commit(self):
        try:
            return super()._commit()
        except TransactWriteError as exc:
            message = self.conflict_of(exc)
            if message:
                raise Conflict(message) from exc
            raise

    def conflict_of(self, exc: Exception) -> str | None:
        """The message of the first item whose own condition failed in `exc`, if that item named one."""
        messages = [m for kind in ("check", "delete", "put", "update") for m in self._conflicts[kind]]
        reasons = getattr(exc, "cancellation_reasons", None) or []
        return next((message for reason, message in zip(reasons, messages, strict=False)
                     if message and reason is not None and reason.code == "ConditionalCheckFailed"), None)

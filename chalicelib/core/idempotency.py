"""`Idempotency-Key` for POSTs that create things: a retry with the same key and body returns the
first answer and changes nothing (powertools Idempotency, persisted in the idempotency table)."""

import warnings
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalicelib.core.aws import client
from chalicelib.core.config import get_settings
from chalicelib.core.errors import Conflict, invalid_field

KEEP_ANSWERS_S = 24 * 3600
# Without the Lambda context powertools cannot expire a crashed in-progress record early; it still expires
# with the record (KEEP_ANSWERS_S), and a retry meanwhile gets a clear 409.
warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
MAX_KEY_LENGTH = 200


def once_per_key(scope: str, key: str | None, body: dict[str, Any], action: Callable[[], dict]) -> dict:
    """Run `action` once per (`scope`, `key`); without a key it simply runs.

    `scope` names the caller and the kind of request (e.g. `rides:rider-1`), so two callers can never
    collide on the same key. Reusing a key with another body is a 409.
    """
    if key is None:
        return action()
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise invalid_field("Idempotency-Key", f"1 to {MAX_KEY_LENGTH} characters")
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    store = _store(get_settings().idempotency_table)  # per call: powertools writes the key prefix into it
    run_once = idempotent_function(data_keyword_argument="request", persistence_store=store, config=_config(),
                                   key_prefix=scope)(_run)
    try:
        return run_once(request={"key": key, "body": body}, action=action)
    except IdempotencyValidationError as exc:
        raise Conflict("this Idempotency-Key was already used with a different body") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is still in progress") from exc


def _run(request: dict[str, Any], action: Callable[[], dict]) -> dict:
    return action()


@lru_cache(maxsize=1)
def _config():
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="body",
                             raise_on_no_idempotency_key=True, expires_after_seconds=KEEP_ANSWERS_S)


def _store(table_name: str):
    """A persistence layer for one call. powertools' `configure()` stores the caller's key prefix in the layer,
    so a layer shared by concurrent requests (a threaded server) would file one caller's record under another's."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client("dynamodb"))

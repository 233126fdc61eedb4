"""boto3 clients, built on first use and shared (no I/O at import, one client per process)."""

from functools import cache

import boto3


@cache
def client(service: str):
    """The shared boto3 client for `service` ('sqs', 'sns', ...); honours AWS_ENDPOINT_URL."""
    return boto3.session.Session().client(service)

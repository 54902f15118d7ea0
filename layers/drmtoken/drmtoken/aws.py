"""boto3 clients with deliberate timeouts and retries, one per service and endpoint.

A token request must fail fast (503) rather than hang until the Lambda timeout:
1 s to connect, 2 s to read, at most 3 attempts with standard back-off.
Endpoints follow boto3's configuration; AWS_ENDPOINT_URL_<SERVICE> spelled with the
service name as one word (AWS_ENDPOINT_URL_SECRETSMANAGER) is honoured too, since
botocore itself only reads AWS_ENDPOINT_URL_SECRETS_MANAGER for that service.
Clients are kept for the life of the container: creating one costs ~50 ms.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

CLIENT_CONFIG = Config(
    connect_timeout=1,
    read_timeout=2,
    retries={"mode": "standard", "max_attempts": 3},
)


def client(service: str) -> Any:
    endpoint_variable = f"AWS_ENDPOINT_URL_{service.upper()}"
    endpoint = os.environ.get(endpoint_variable) or os.environ.get("AWS_ENDPOINT_URL")
    return _client(service, endpoint, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


@cache
def _client(service: str, endpoint: str | None, region: str | None) -> Any:
    # The arguments are the cache key: a changed endpoint or region gets a new client.
    session = boto3.session.Session()
    return session.client(service, endpoint_url=endpoint, config=CLIENT_CONFIG)  # type: ignore[call-overload]

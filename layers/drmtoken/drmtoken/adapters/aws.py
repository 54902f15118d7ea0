"""boto3 clients with deliberate timeouts and retries, one per service and endpoint.

A token request must fail fast (503) rather than hang until the Lambda timeout:
1 s to connect, 1 s to read (DynamoDB answers in milliseconds), 3 attempts in
total with standard back-off (at most 1 s, then 2 s): at most ~6 s, inside the 10 s function timeout.
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
    read_timeout=1,
    retries={"mode": "standard", "total_max_attempts": 3},  # "max_attempts" would mean 3 retries
    # Our requests are built by code, not users: validating each against the model
    # cost ~20% of a warm token request (profiled), and DynamoDB validates anyway.
    parameter_validation=False,
)


def client(service: str) -> Any:
    endpoint_variable = f"AWS_ENDPOINT_URL_{service.upper()}"
    endpoint = os.environ.get(endpoint_variable) or os.environ.get("AWS_ENDPOINT_URL")
    return _client(service, endpoint, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


@cache
def _client(service: str, endpoint: str | None, region: str | None) -> Any:
    # The arguments are the cache key: a changed endpoint or region gets a new client.
    session = boto3.session.Session()
    # AWS_REGION as the AWS CLI reads it: boto3 alone reads only AWS_DEFAULT_REGION.
    new_client = session.client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint, config=CLIENT_CONFIG, region_name=region
    )
    _build_user_agent_once(new_client)
    return new_client


def _build_user_agent_once(new_client: Any) -> None:
    """botocore rebuilds the same User-Agent string twice per call (~70 us each, a third of a
    warm token request's DynamoDB call when profiled); build it once per client instead.
    Only telemetry is lost: per-call feature ids in the header. Skipped if botocore changes.
    """
    creator = getattr(new_client, "_user_agent_creator", None)
    if creator is not None and callable(getattr(creator, "to_string", None)):
        header = creator.to_string()
        creator.to_string = lambda: header

"""DynamoDB calls per request, counted on the real handler with the answers stubbed in-process."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from botocore.stub import Stubber

from bench.service import AUTH, QUERIES, prepare_environment, quiet_stdout
from drmtoken.adapters import aws
from drmtoken.core.account import hash_secret
from drmtoken_cli.devserver.events import rest_event
from drmtoken_cli.devserver.lambda_host import LocalContext
from tests.support.lambdas import TEMPLATE

# What the customers table answers in each case: None = success, else the item returned with the failure.
USED_UP_ITEM = {
    "customerId": {"S": "bench"},
    "status": {"S": "active"},
    "entitlements": {"M": {"widevine": {"BOOL": True}, "fairplay": {"BOOL": True}}},
    "authenticatorHashes_test": {"SS": [hash_secret(AUTH.split(",")[1])]},
    "tokensIssued_test": {"N": "5"},
    "tokenLimit_test": {"N": "5"},
}
CASES: dict[str, tuple[list[tuple[str, str]], dict[str, Any] | None, int]] = {
    "success": (QUERIES["wv"], None, 200),
    "validation failure": ([*QUERIES["wv"], ("securityLevel", "9")], None, 400),
    "auth failure": ([("customerAuthenticator", "bench," + "0" * 32), *QUERIES["wv"][1:]], {}, 401),
    "allowance used up": (QUERIES["wv"], USED_UP_ITEM, 403),
}


def cancellation(item: dict[str, Any]) -> dict[str, Any]:
    """The reason DynamoDB gives when the charge's condition fails, with the item when there is one."""
    return {"Code": "ConditionalCheckFailed", **({"Item": item} if item else {})}


def measure() -> dict[str, int]:
    template = TEMPLATE
    prepare_environment(template)
    handler = template.functions()["WidevineFunction"].load_handler()
    client = aws.client("dynamodb")
    counts: dict[str, int] = {}
    for name, (query, refusal, status) in CASES.items():
        calls: list[str] = []

        def count(model: Any, _calls: list[str] = calls, **__: Any) -> None:
            _calls.append(model.name)

        client.meta.events.register("provide-client-params.dynamodb", count)
        with Stubber(client) as stubber, quiet_stdout():
            if refusal is None:
                stubber.add_response("transact_write_items", {})
            else:
                stubber.add_client_error(
                    "transact_write_items",
                    service_error_code="TransactionCanceledException",
                    http_status_code=400,
                    modeled_fields={"CancellationReasons": [cancellation(refusal)]},
                )
            response = handler(rest_event("GET", f"/hms/wv/token?{urlencode(query)}", [], b""), LocalContext("bench"))
        client.meta.events.unregister("provide-client-params.dynamodb", count)
        if response["statusCode"] != status:
            raise RuntimeError(f"{name}: expected {status}, got {response['statusCode']}: {response['body']}")
        counts[name] = len(calls)
    return counts

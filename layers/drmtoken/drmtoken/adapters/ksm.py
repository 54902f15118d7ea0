"""The customer's key security module: the FairPlay route's ``LicenseBackend``.

The KSM is a Lambda function (invoked synchronously, IAM permission for that one function)
or an HTTPS URL taking the same JSON by POST; a loopback http:// URL is allowed only
outside Lambda (local runs and tests). Both are bounded, with no retry: by URL, the whole
call ends at the deadline the route gives it (``backend_http``); invoked, 1 s to connect and
5 s to read, inside the 10 s function timeout. A failure to get an answer is 503.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import urllib3

from drmtoken.core.errors import ApiError, DependencyError
from drmtoken.core.fairplay import failed_ksm, ksm_request, read_ksm_answer, read_spc
from drmtoken.core.license import Ask, License, Terms, ask_by_header
from drmtoken.core.untrusted import MAX_ANSWER_BYTES

from .backend_http import pool_manager, post

LOOPBACK = ("http://127.0.0.1", "http://localhost")


class KsmClient:
    def __init__(self, target: str | None) -> None:
        self.target = target or None
        self._http: urllib3.PoolManager | None = None  # made on first use
        self._lambda: Any = None

    @property
    def is_url(self) -> bool:
        return bool(self.target and self.target.startswith(("https://", *LOOPBACK)))

    def kind_of(self, body: bytes, renewal_of: str | None) -> Ask:
        if self.target is None:  # checked before a use is taken: nothing to give back
            raise ApiError(-6006, "no key security module is configured for FairPlay")
        return ask_by_header(renewal_of)

    def issue(
        self, claims: Mapping[str, Any], body: bytes, content_type: str, deadline: float, terms: Terms
    ) -> License:
        spc = read_spc(body, content_type)
        message = json.dumps(ksm_request(claims, spc.data, terms), separators=(",", ":")).encode("utf-8")
        status, answer = self._post(message, deadline) if self.is_url else (200, self._invoke(message))
        return read_ksm_answer(status, answer, spc.shape)

    def _post(self, message: bytes, deadline: float) -> tuple[int, bytes]:
        assert self.target is not None
        if self.target.startswith(LOOPBACK) and os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
            raise failed_ksm("a loopback KSM URL is for local runs only")
        if self._http is None:
            self._http = pool_manager()
        try:
            return post(self._http, self.target, message, deadline, "KSM")
        except DependencyError as error:
            raise failed_ksm(str(error).removeprefix("KSM: ")) from error

    def _invoke(self, message: bytes) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        if self._lambda is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=1, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 1})
            self._lambda = boto3.session.Session().client("lambda", config=config)
        try:
            answer = self._lambda.invoke(FunctionName=self.target, InvocationType="RequestResponse", Payload=message)
        except (BotoCoreError, ClientError) as error:
            raise failed_ksm(f"invoke failed: {type(error).__name__}") from error
        if answer.get("FunctionError"):
            raise failed_ksm(f"the KSM function failed: {answer['FunctionError']}")
        payload: bytes = answer["Payload"].read(MAX_ANSWER_BYTES + 1)
        if len(payload) > MAX_ANSWER_BYTES:
            raise failed_ksm(f"answer larger than {MAX_ANSWER_BYTES} bytes")
        return payload

"""Provide keys: read the CPIX request, check the customer, hold a key per KID, complete the document.

Knows nothing of API Gateway. Everything that can refuse the request runs before the
first key is stored: the document's rules, then the customer. A KID this customer
already holds gets the key it got before, on every repeat; a new one gets a random key
(and IV), stored by a conditional write before it is answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from drmtoken.core.account import ACTIVE
from drmtoken.core.cpix import CpixError, answer_cpix, read_cpix
from drmtoken.core.errors import DependencyError
from drmtoken.core.heldkeys import HeldKey
from drmtoken.ports import ProviderPorts

CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
PROVIDED = 200
UNAVAILABLE = "Service temporarily unavailable, please retry"


@dataclass
class Provided:
    """What became of one key request."""

    status: int  # 200, or the refusal's HTTP status (503: a dependency failed)
    speke_version: str | None  # as the packager asked, for the answer's X-Speke-Version
    facts: dict[str, Any]  # safe to log: customer, content, KIDs, counts; never a key
    body: bytes = field(default=b"", repr=False)  # the completed CPIX document (holds keys) or our message
    failure: str | None = None  # why a dependency failed, for the operator's log line


def provide_keys(customer_id: str, body: bytes, speke_version: str | None, ports: ProviderPorts, now: int) -> Provided:
    facts: dict[str, Any] = {"customerId": customer_id} if CUSTOMER_ID.fullmatch(customer_id) else {}
    try:
        if not facts:
            raise CpixError(404, "Unknown customer")
        request = read_cpix(body, speke_version)
        facts.update(contentId=request.content_id, spekeVersion=request.speke_version, keys=len(request.keys))
        facts["systems"] = ",".join(sorted({asked.system.name for asked in request.signaling}))
        account = ports.accounts.account(customer_id)
        if account is None:
            raise CpixError(404, "Unknown customer")
        if account.status != ACTIVE:
            raise CpixError(403, "Customer account is disabled")
        held = ports.held_keys.get_many(customer_id, request.kids)
        new = 0
        for key in request.keys:
            if key.kid not in held:
                track_type = request.track_types.get(key.kid, "")
                made = HeldKey.new(key.kid, request.content_id, track_type, key.given_iv, now)
                held[key.kid] = ports.held_keys.put_new(customer_id, made)
                new += 1
        facts["newKeys"] = new
        return Provided(PROVIDED, speke_version, facts, body=answer_cpix(request, held))
    except CpixError as error:
        return Provided(error.status, speke_version, facts, body=error.message.encode("utf-8"))
    except DependencyError as error:
        return Provided(503, speke_version, facts, body=UNAVAILABLE.encode("ascii"), failure=str(error))

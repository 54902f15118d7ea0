"""The use limit's rules (docs/rights-api.md §7): what a reservation is named by, and what it can come to.

A use is held under a reservation named by the request itself: the token, the request's
bytes, and who sent them. A player that got 503 resends the same bytes, so its retry names
the same reservation and finds the use its first attempt held, even when that attempt's
write landed after the 503 was answered, or its give-back never did. A new request (another
challenge, another device) names another reservation and needs a use of its own.

Each attempt (one HTTP request) has an id of its own and holds the reservation as its owner;
a retry takes the reservation over, and only the owner can turn it into a license (settle)
or give it back. So two attempts with the same bytes at once cannot both have a license of
one use: the one that lost the reservation answers 503.
"""

from __future__ import annotations

import enum
import hashlib
import secrets

# A use held this recently may still come back (its request is at most a function timeout
# old): a request finding none left is told to retry (503), not refused for good (403).
IN_FLIGHT_SECONDS = 15


class Reservation(enum.Enum):
    TAKEN = "taken"  # a new use is held for this attempt
    HELD = "held"  # an earlier attempt of this request held one: this attempt owns it now
    SPENT = "spent"  # none left
    BUSY = "busy"  # none left now, but a use held moments ago may come back


class Settled(enum.Enum):
    YES = "yes"  # the use is this attempt's license: answer it
    LOST = "lost"  # another attempt of the same request took the use over: do not answer a license


def attempt_id() -> str:
    """One HTTP request's own id, as the owner of a reservation."""
    return secrets.token_hex(4)


def reservation_of(token_id: str, body: bytes, source_ip: str, user_agent: str) -> str:
    """The reservation a request names: the same for a resent request, another for anything else."""
    digest = hashlib.sha256()
    for part in (token_id.encode(), source_ip.encode(), user_agent.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)  # length-prefixed: no two splits collide
    return digest.hexdigest()[:24]

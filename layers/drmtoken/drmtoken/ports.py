"""What the sides need from the outside world, as small interfaces.

``adapters`` implements them on DynamoDB and Secrets Manager; ``tests.support.fakes``
in memory. A failure of the outside world is ``DependencyError``, whatever the adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from drmtoken.core.account import Account, Authenticator
from drmtoken.core.drm import DrmProfile
from drmtoken.core.heldkeys import HeldKey
from drmtoken.core.slots import Opened, Slot
from drmtoken.core.token import Keyring
from drmtoken.core.uses import Reservation, Settled
from drmtoken.settings import Settings


class AccountGate(Protocol):
    """Authenticates a customer, checks the account and counts tokens."""

    def charge(
        self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool, request_token: str
    ) -> int:
        """Count one token at once with every check; ApiError with the refusal code when one fails.

        Returns the shard of the allowance counted (for ``refund``). Idempotent per
        ``request_token``: the same request sent again never counts twice.
        """
        ...

    def refusal(self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool) -> int | None:
        """The account's refusal code, counting nothing; None when a token could be issued."""
        ...

    def refund(self, customer_id: str, environment: str, request_token: str, shard: int = 0) -> None:
        """Give back the token counted on ``shard`` for ``request_token``; idempotent, never below zero."""
        ...

    def authenticate(self, authenticator: Authenticator, environment: str) -> int | None:
        """-2018 or -2031 when the caller may not act for the account, counting nothing; else None."""
        ...


class KeyStore(Protocol):
    def wrapped_key(self, customer_id: str, kid: str) -> bytes | None:
        """The content key stored for (customer, kid), wrapped under the customer's kek; None if none."""
        ...


class HeldKeyStore(Protocol):
    """The keys the service holds for its customers, sealed at rest; what goes in and out here is clear."""

    def get_many(self, customer_id: str, kids: list[str]) -> dict[str, HeldKey]:
        """The held keys of these KIDs that exist, by KID."""
        ...

    def put_new(self, customer_id: str, key: HeldKey) -> HeldKey:
        """Hold ``key`` unless this customer already holds its KID; either way, the key now held."""
        ...

    def by_kid(self, customer_id: str, kid: str) -> HeldKey | None:
        """The held key of one KID; None when this customer holds none."""
        ...

    def by_content(self, customer_id: str, content_id: str, limit: int) -> list[HeldKey]:
        """The held keys of a content, at most ``limit``; [] when there are none."""
        ...


class AccountReader(Protocol):
    def account(self, customer_id: str) -> Account | None:
        """The customer's account as stored, or None."""
        ...


class KeyringSource(Protocol):
    def get(self) -> Keyring:
        """The current token keyring."""
        ...


class ViewerKeySource(Protocol):
    def get(self) -> bytes:
        """The key of the viewers' keyed hashes (core.slots.viewer_of): one per deployment, never rotated."""
        ...


@dataclass
class TokenPorts:
    """Everything the token side needs from outside: the deployment's settings and its ports."""

    settings: Settings
    accounts: AccountGate
    keys: KeyStore
    keyring: KeyringSource
    held_keys: HeldKeyStore
    viewer_key: ViewerKeySource


class RecordStore(Protocol):
    def put(self, record: Mapping[str, Any], retention_seconds: int) -> None:
        """Keep one redemption record (no secret in it) for ``retention_seconds``."""
        ...


class RecordReader(Protocol):
    def page(
        self, customer_id: str, cookie: str | None, length: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a customer's records, newest first, after the position ``after``; and the next position."""
        ...


class UseCounter(Protocol):
    def reserve(
        self, token_id: str, max_uses: int, expires_at: int, reservation: str, attempt: str, now: int
    ) -> Reservation:
        """Hold one use of the token for ``reservation``, owned by ``attempt``, if fewer than ``max_uses`` are taken.

        TAKEN: a new use is held. HELD: an earlier attempt of the same request held one, and
        this attempt took it over. SPENT or BUSY: none is left; BUSY when a use held in the
        last moments may still come back. The counter lives until the token expires.
        """
        ...

    def settle(self, token_id: str, reservation: str, attempt: str) -> Settled:
        """Turn the held use into this attempt's license, if the attempt still owns it."""
        ...

    def give_back(self, token_id: str, reservation: str, attempt: str) -> None:
        """Return the use the attempt owns, when no license came of it; a repeat does nothing."""
        ...


class StreamSlots(Protocol):
    """A viewer's open streams (core.slots): never more live than a token's maxStreams allows."""

    def open(self, customer_id: str, viewer: str, slot: Slot, max_streams: int, policy: str, now: int) -> Opened:
        """Open ``slot`` if there is room (or ``policy`` ends the oldest); KEPT when that stream is already open."""
        ...

    def renew(self, customer_id: str, viewer: str, stream_id: str, now: int, until: int) -> tuple[bool, Slot | None]:
        """Keep a live stream to ``until``: (True, None); else (False, the slot as it stood, None if there is none)."""
        ...

    def describe(self, customer_id: str, viewer: str, stream_id: str, device: dict[str, str]) -> None:
        """Keep what the license service said of the stream's device."""
        ...

    def close(self, customer_id: str, viewer: str, stream_id: str) -> None:
        """Free the stream's slot; a repeat does nothing."""
        ...

    def end(self, customer_id: str, viewer: str, stream_id: str, now: int) -> bool:
        """End a live stream (its next renewal refused); False when the viewer has no such live stream."""
        ...

    def open_streams(self, customer_id: str, viewer: str, now: int) -> list[Slot]:
        """The viewer's live streams, oldest first."""
        ...


@dataclass
class RightsPorts:
    """Everything the rights side needs from outside, but the license back end of its route."""

    settings: Settings
    keyring: KeyringSource
    records: RecordStore
    uses: UseCounter
    streams: StreamSlots


@dataclass
class StreamPorts:
    """What the streams API needs: the settings, the account gate to authenticate, the viewer key, the slots."""

    settings: Settings
    accounts: AccountGate
    viewer_key: ViewerKeySource
    streams: StreamSlots


@dataclass
class RecordPorts:
    """What `getrecord` needs: the settings, the account gate to authenticate, the records."""

    settings: Settings
    accounts: AccountGate
    records: RecordReader


@dataclass
class ProviderPorts:
    """What the key provider needs: the settings, the customers (read only) and the held keys."""

    settings: Settings
    accounts: AccountReader
    held_keys: HeldKeyStore

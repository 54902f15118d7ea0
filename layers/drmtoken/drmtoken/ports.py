"""What the sides need from the outside world, as small interfaces.

``adapters`` implements them on DynamoDB and Secrets Manager; ``tests.support.fakes``
in memory. A failure of the outside world is ``DependencyError``, whatever the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from drmtoken.core.account import Authenticator
from drmtoken.core.drm import DrmProfile
from drmtoken.core.token import Keyring
from drmtoken.settings import Settings


class AccountGate(Protocol):
    """Authenticates a customer, checks the account and counts tokens."""

    def charge(
        self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool, request_token: str
    ) -> None:
        """Count one token at once with every check; ApiError with the refusal code when one fails.

        Idempotent per ``request_token``: the same request sent again never counts twice.
        """
        ...

    def refusal(self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool) -> int | None:
        """The account's refusal code, counting nothing; None when a token could be issued."""
        ...

    def refund(self, customer_id: str, environment: str, request_token: str) -> None:
        """Give back the token counted for ``request_token``; idempotent, never below zero."""
        ...


class KeyStore(Protocol):
    def wrapped_key(self, customer_id: str, kid: str) -> bytes | None:
        """The content key stored for (customer, kid), wrapped under the customer's kek; None if none."""
        ...


class KeyringSource(Protocol):
    def get(self) -> Keyring:
        """The current token keyring."""
        ...


@dataclass
class TokenPorts:
    """Everything the token side needs from outside: the deployment's settings and three ports."""

    settings: Settings
    accounts: AccountGate
    keys: KeyStore
    keyring: KeyringSource

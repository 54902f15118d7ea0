"""In-memory implementations of the ports, with the operator's calls to set a scene.

``MemoryTables`` is an ``AccountGate`` and a ``KeyStore`` over plain ``Account`` objects,
judged by the same refusal order as the DynamoDB adapter (``core.account``), and it
honours request tokens as DynamoDB's ClientRequestToken does. Its operator methods carry
the names of ``AdminStore``'s, so a test can set its scene on any engine alike.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from drmtoken.adapters.dynamodb import derived_token
from drmtoken.core.account import (
    ACTIVE,
    DISABLED,
    ENVIRONMENTS,
    UNKNOWN_ACCOUNT,
    Account,
    Authenticator,
    hash_secret,
    refusal_of,
)
from drmtoken.core.allowance import check_shard_count
from drmtoken.core.drm import PROFILES, Drm, DrmProfile
from drmtoken.core.errors import ApiError
from drmtoken.core.token import Keyring
from drmtoken_cli.admin_store import AuthenticatorNotFound, CustomerExists, CustomerNotFound


class MemoryTables:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.keys: dict[tuple[str, str], bytes] = {}
        self.applied_tokens: set[str] = set()  # request tokens whose write took effect
        self._lock = threading.Lock()

    # --- AccountGate ---------------------------------------------------------------

    def charge(
        self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool, request_token: str
    ) -> int:
        with self._lock:
            if request_token in self.applied_tokens:
                return 0  # a replay of a write that took effect: not counted again
            account = self.accounts.get(authenticator.customer_id)
            code = refusal_of(account, authenticator.secret_hash, environment, drm, drm_enabled)
            if code is not None:
                raise ApiError(code)
            assert account is not None
            account.issued[environment] = account.issued.get(environment, 0) + 1
            self.applied_tokens.add(request_token)
            return 0  # one count per customer here: shards are the DynamoDB adapter's way to the same rule

    def refusal(self, authenticator: Authenticator, environment: str, drm: DrmProfile, drm_enabled: bool) -> int | None:
        with self._lock:
            account = self.accounts.get(authenticator.customer_id)
            return refusal_of(account, authenticator.secret_hash, environment, drm, drm_enabled)

    def authenticate(self, authenticator: Authenticator, environment: str) -> int | None:
        with self._lock:
            account = self.accounts.get(authenticator.customer_id)
            return (account or UNKNOWN_ACCOUNT).authentication_refusal(authenticator.secret_hash, environment)

    def refund(self, customer_id: str, environment: str, request_token: str, shard: int = 0) -> None:
        with self._lock:
            token = derived_token(request_token, "refund")
            account = self.accounts.get(customer_id)
            if token in self.applied_tokens or account is None or account.issued.get(environment, 0) <= 0:
                return
            account.issued[environment] -= 1
            self.applied_tokens.add(token)

    # --- KeyStore --------------------------------------------------------------------

    def wrapped_key(self, customer_id: str, kid: str) -> bytes | None:
        return self.keys.get((customer_id, kid))

    # --- the operator's calls, as AdminStore names them -------------------------------

    def create_customer(self, customer_id: str, limits: dict[str, int] | None = None, **entitled: bool) -> None:
        if customer_id in self.accounts:
            raise CustomerExists(customer_id)
        self.accounts[customer_id] = Account(
            customer_id=customer_id,
            status=ACTIVE,
            entitlements={row.entitlement: entitled.get(row.entitlement, False) for row in PROFILES.values()},
            authenticator_hashes={e: set() for e in ENVIRONMENTS},
            issued=dict.fromkeys(ENVIRONMENTS, 0),
            limits={e: (limits or {}).get(e) for e in ENVIRONMENTS},
        )

    def get_customer(self, customer_id: str) -> Account:
        if customer_id not in self.accounts:
            raise CustomerNotFound(customer_id)
        return copy.deepcopy(self.accounts[customer_id])

    def list_customers(self) -> Iterator[Account]:
        for customer_id in sorted(self.accounts):
            yield self.get_customer(customer_id)

    def set_status(self, customer_id: str, active: bool) -> None:
        self._existing(customer_id).status = ACTIVE if active else DISABLED

    def set_entitlement(self, customer_id: str, drm: Drm, entitled: bool) -> None:
        self._existing(customer_id).entitlements[PROFILES[drm].entitlement] = entitled

    def set_limit(self, customer_id: str, environment: str, limit: int | None) -> None:
        self._existing(customer_id).limits[environment] = limit

    def set_shards(self, customer_id: str, shards: int) -> None:
        self._existing(customer_id).shards = check_shard_count(shards)

    def add_authenticator(self, customer_id: str, environment: str, secret: str | None = None) -> str:
        secret = secret or secrets.token_hex(16)
        self._existing(customer_id).authenticator_hashes.setdefault(environment, set()).add(hash_secret(secret))
        return secret

    def revoke_authenticator(self, customer_id: str, secret: str) -> str:
        for environment, hashes in self._existing(customer_id).authenticator_hashes.items():
            if hash_secret(secret) in hashes:
                hashes.discard(hash_secret(secret))
                return environment
        raise AuthenticatorNotFound(customer_id)

    def put_key(self, customer_id: str, kid: str, wrapped_key: bytes) -> None:
        self._existing(customer_id)
        self.keys[(customer_id, kid)] = wrapped_key

    def delete_key(self, customer_id: str, kid: str) -> bool:
        return self.keys.pop((customer_id, kid), None) is not None

    def _existing(self, customer_id: str) -> Account:
        if customer_id not in self.accounts:
            raise CustomerNotFound(customer_id)
        return self.accounts[customer_id]


@dataclass
class FixedKeyring:
    """A ``KeyringSource`` that always has the same keyring."""

    keyring: Keyring

    def get(self) -> Keyring:
        return self.keyring

"""What a warm function keeps between requests: settings, the store, the keyring.

Built on first use, not on import, so a cold start pays only for what it uses and
tests can swap the environment with ``reset()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import DependencyError
from .settings import Settings
from .store import CustomerStore
from .token import Keyring


@dataclass
class KeyringSource:
    """The token keyring: inline JSON, or a Secrets Manager secret cached by powertools.

    The secret is re-read after ``keyring_cache_seconds``, so a rotated keyring reaches
    warm functions without a redeploy; it is parsed again only when its text changed.
    """

    settings: Settings
    _keyring: Keyring | None = None
    _text: str | None = field(default=None, repr=False)
    _provider: Any = field(default=None, repr=False)

    def get(self) -> Keyring:
        if self._keyring is not None and self.settings.keyring_secret is None:
            return self._keyring
        text = self.settings.keyring_json or self._read_secret()
        if self._keyring is None or text != self._text:
            try:
                self._keyring = Keyring.from_json(text)
            except ValueError as error:
                raise DependencyError(f"token keyring is unusable: {error}") from None
            self._text = text
        return self._keyring

    def _read_secret(self) -> str:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, GetSecretError

        from .aws import client

        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=client("secretsmanager"))
        try:
            text = self._provider.get(self.settings.keyring_secret, max_age=self.settings.keyring_cache_seconds)
        except (GetParameterError, GetSecretError) as error:
            raise DependencyError(f"token keyring secret unavailable: {type(error.__cause__).__name__}") from error
        return str(text)


@dataclass
class Runtime:
    settings: Settings
    store: CustomerStore
    keyring: KeyringSource


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        from .aws import client

        settings = Settings.from_env()
        store = CustomerStore(client("dynamodb"), settings.customers_table, settings.content_keys_table)
        _runtime = Runtime(settings=settings, store=store, keyring=KeyringSource(settings))
    return _runtime


def reset() -> None:
    """Forget everything built so far; the next request reads the environment again."""
    global _runtime
    _runtime = None

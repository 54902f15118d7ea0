"""``KeyringSource``: the token keyring inline (local runs, tests) or from Secrets Manager, cached."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drmtoken.core.errors import DependencyError
from drmtoken.core.token import Keyring


@dataclass
class SecretKeyring:
    """The token keyring: inline JSON, or a Secrets Manager secret cached by powertools.

    The secret is re-read after ``cache_seconds``, so a rotated keyring reaches warm
    functions without a redeploy; it is parsed again only when its text changed.
    """

    inline_json: str | None
    secret_id: str | None
    cache_seconds: int
    _keyring: Keyring | None = None
    _text: str | None = field(default=None, repr=False)
    _provider: Any = field(default=None, repr=False)

    def get(self) -> Keyring:
        if self._keyring is not None and self.secret_id is None:
            return self._keyring
        text = self.inline_json or self._read_secret()
        if self._keyring is None or text != self._text:
            try:
                self._keyring = Keyring.from_json(text)
            except ValueError as error:  # the message names positions, never keyring content
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
            text = self._provider.get(self.secret_id, max_age=self.cache_seconds)
        except (GetParameterError, GetSecretError) as error:
            raise DependencyError(f"token keyring secret unavailable: {type(error.__cause__).__name__}") from error
        return str(text)

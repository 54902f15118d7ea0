"""A Secrets Manager secret's text, cached by powertools for a while, for values functions re-read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drmtoken.core.errors import DependencyError


@dataclass
class CachedSecret:
    secret_id: str
    cache_seconds: int
    _provider: Any = field(default=None, repr=False)

    def text(self) -> str:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, GetSecretError

        from .aws import client

        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=client("secretsmanager"))
        try:
            value = self._provider.get(self.secret_id, max_age=self.cache_seconds)
        except (GetParameterError, GetSecretError) as error:
            raise DependencyError(f"secret unavailable: {type(error.__cause__).__name__}") from error
        return str(value)

"""The Widevine license service over HTTPS: the rights route's ``LicenseBackend`` for Widevine tokens.

urllib3 (already in the dependency tree through botocore), the whole call bounded by the
deadline the route gives it and the answer's size bounded (``backend_http``), no retry: a
retried getlicense could make a second license out of one request. Any failure to get an
answer is DependencyError (503).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drmtoken.core.errors import DependencyError
from drmtoken.core.license import Ask, License, Terms
from drmtoken.core.widevine import WidevineProvider, ask_of, inner_request, read_answer, signed_message

from .backend_http import pool_manager, post
from .secrets import CachedSecret


@dataclass
class ProviderSource:
    """The provider credentials: inline JSON (local runs, tests) or a Secrets Manager secret, re-read after a while."""

    inline_json: str | None
    secret_id: str | None
    cache_seconds: int
    _provider: WidevineProvider | None = field(default=None, repr=False)
    _text: str | None = field(default=None, repr=False)
    _secret: CachedSecret | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.inline_json or self.secret_id)

    def get(self) -> WidevineProvider:
        if self.inline_json is None and self._secret is None:
            self._secret = CachedSecret(str(self.secret_id), self.cache_seconds)
        text = self.inline_json or (self._secret.text() if self._secret else "")
        if self._provider is None or text != self._text:
            try:
                self._provider = WidevineProvider.from_json(text)
            except ValueError as error:  # the message quotes nothing of the credentials
                raise DependencyError(f"Widevine provider credentials are unusable: {error}") from None
            self._text = text
        return self._provider


class WidevineLicenseService:
    """``LicenseBackend``: the provider's signed getlicense request, and the service's answer read."""

    def __init__(self, provider: ProviderSource) -> None:
        self.provider = provider
        self.http = pool_manager()

    def kind_of(self, body: bytes, renewal_of: str | None) -> Ask:
        return ask_of(body)  # Widevine's challenge says what it is: a header is not needed, nor believed

    def issue(
        self, claims: Mapping[str, Any], body: bytes, content_type: str, deadline: float, terms: Terms
    ) -> License:
        provider = self.provider.get()
        message = signed_message(provider, inner_request(provider, claims, body, terms))
        status, answer = self._post(provider.service_url, message, deadline)
        return read_answer(status, answer, terms.kind)

    def _post(self, url: str, message: bytes, deadline: float) -> tuple[int, bytes]:
        return post(self.http, url, message, deadline, "Widevine license service")

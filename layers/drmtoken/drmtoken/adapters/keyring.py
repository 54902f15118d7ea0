"""``KeyringSource``: a keyring inline (local runs, tests) or from Secrets Manager, cached.

Two keyrings have this form: the token keyring and the key-sealing keyring of held keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drmtoken.core.errors import DependencyError
from drmtoken.core.token import Keyring

from .secrets import CachedSecret


@dataclass
class SecretKeyring:
    """The token keyring: inline JSON, or a Secrets Manager secret cached by powertools.

    The secret is re-read after ``cache_seconds``, so a rotated keyring reaches warm
    functions without a redeploy; it is parsed again only when its text changed.
    """

    inline_json: str | None
    secret_id: str | None
    cache_seconds: int
    label: str = "token keyring"  # which keyring, in the operator's messages
    _keyring: Keyring | None = None
    _text: str | None = field(default=None, repr=False)
    _secret: CachedSecret | None = field(default=None, repr=False)

    def get(self) -> Keyring:
        if self._keyring is not None and self.secret_id is None:
            return self._keyring
        if not self.inline_json and not self.secret_id:
            raise DependencyError(f"{self.label} is not configured")
        text = self.inline_json or self._read_secret()
        if self._keyring is None or text != self._text:
            try:
                self._keyring = Keyring.from_json(text)
            except ValueError as error:  # the message names positions, never keyring content
                raise DependencyError(f"{self.label} is unusable: {error}") from None
            self._text = text
        return self._keyring

    def _read_secret(self) -> str:
        if self._secret is None:
            self._secret = CachedSecret(str(self.secret_id), self.cache_seconds)
        try:
            return self._secret.text()
        except DependencyError as error:
            raise DependencyError(f"{self.label} {error}") from None


MIN_VIEWER_KEY_CHARACTERS = 32


@dataclass
class SecretViewerKey:
    """``ViewerKeySource``: the viewers' hash key, inline (local runs, tests) or a Secrets Manager secret's text.

    The text itself is the key (at least 32 characters; the template generates 64). It is
    never rotated: a viewer's streams are found by its hash, and a new key would lose them.
    """

    inline: str | None
    secret_id: str | None
    cache_seconds: int
    _secret: CachedSecret | None = field(default=None, repr=False)

    def get(self) -> bytes:
        if not self.inline and not self.secret_id:
            raise DependencyError("viewer key is not configured")
        if self.inline:
            text = self.inline
        else:
            if self._secret is None:
                self._secret = CachedSecret(str(self.secret_id), self.cache_seconds)
            try:
                text = self._secret.text()
            except DependencyError as error:
                raise DependencyError(f"viewer key {error}") from None
        if len(text) < MIN_VIEWER_KEY_CHARACTERS:
            raise DependencyError(f"viewer key is unusable: fewer than {MIN_VIEWER_KEY_CHARACTERS} characters")
        return text.encode("utf-8")

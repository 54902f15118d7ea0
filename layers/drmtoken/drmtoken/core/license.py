"""What a license back end is asked and gives, and its interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .rights import Rights
from .streams import Stream

LICENSE = "license"  # a first license: takes a use, needs an unexpired token
RENEWAL = "renewal"  # keeps a license this token gave alive: no use, honoured past the token's expiry
RELEASE = "release"  # ends one (Widevine's RELEASE): no use
CERTIFICATE = "certificate"  # a service certificate: never counted as a use
RENEWAL_HEADER = "Drm-Renewal-Of"  # FairPlay and Clear Key: the stream a renewal renews (no message of their own)


@dataclass(frozen=True)
class Ask:
    """What a request asks for, told from the request itself: its kind, and the ticket a renewal brings back."""

    kind: str
    renews: str | None = field(default=None, repr=False)


def ask_by_header(renewal_of: str | None) -> Ask:
    """For DRMs without a renewal message: a renewal is a license request carrying ``Drm-Renewal-Of``."""
    return Ask(RENEWAL, renewal_of) if renewal_of is not None else Ask(LICENSE)


@dataclass(frozen=True)
class Terms:
    """What the license is to say: the token's rights, the stream it belongs to, and the time it is given."""

    kind: str
    rights: Rights
    now: float  # when the license is given (epoch seconds; its durations count from the next whole second)
    stream: Stream | None = None  # a first license's new stream, or the one a renewal renews


@dataclass
class License:
    body: bytes = field(repr=False)
    content_type: str
    device: dict[str, Any] = field(default_factory=dict)  # the record's device fields, never secrets


class LicenseBackend(Protocol):
    def kind_of(self, body: bytes, renewal_of: str | None) -> Ask:
        """What this request asks for, decided before any use is taken; ``renewal_of`` is the header's value."""
        ...

    def issue(
        self, claims: Mapping[str, Any], body: bytes, content_type: str, deadline: float, terms: Terms
    ) -> License:
        """The license for these claims; ApiError when the back end refuses, DependencyError when it fails.

        ``content_type`` is the request's, for back ends that answer in the shape they were asked in;
        ``deadline`` (``time.monotonic()``) is when a call to a back end must have its whole answer.
        """
        ...

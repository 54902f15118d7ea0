"""What a license back end gives (the license, facts about the device for the record), and its interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

LICENSE = "license"
CERTIFICATE = "certificate"  # a service certificate: never counted as a use


@dataclass
class License:
    body: bytes = field(repr=False)
    content_type: str
    device: dict[str, Any] = field(default_factory=dict)  # the record's device fields, never secrets


class LicenseBackend(Protocol):
    def kind_of(self, body: bytes) -> str:
        """LICENSE or CERTIFICATE: what this request asks for, decided before any use is taken."""
        ...

    def issue(self, claims: Mapping[str, Any], body: bytes, content_type: str, deadline: float) -> License:
        """The license for these claims; ApiError when the back end refuses, DependencyError when it fails.

        ``content_type`` is the request's, for back ends that answer in the shape they were asked in;
        ``deadline`` (``time.monotonic()``) is when a call to a back end must have its whole answer.
        """
        ...

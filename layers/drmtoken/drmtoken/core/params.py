"""The parameter machinery: a row type, the parsers, and the reading of a table of rows.

Each row names a parameter, the DRMs whose routes read it, its parser and its error
codes. A parser returns the normalised value, raises ``ValueError`` for the row's
"invalid" code, or raises ``ApiError`` when one parameter has several codes.
Rows are checked in table order, so the first failing row decides the answer.
The token routes' table is ``drmtoken.issue.params``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .account import Authenticator
from .drm import Drm
from .errors import ApiError
from .heldkeys import TRACKS

RawParams = dict[str, list[str]]  # name -> every value given, query and form body merged
ALL_DRMS = tuple(Drm)

MAX_TOKEN_LIFETIME = 30 * 24 * 3600
MAX_DURATION = 2**31 - 1
MAX_EXTENSIONS = 16
MAX_EXTENSION_PAYLOAD = 1024
MAX_USES = 1000  # licenses one token may yield (docs/rights-api.md, section 7)
MAX_INTEGER_DIGITS = 20  # beyond every bound of the table

_HEX = re.compile(r"[0-9a-fA-F]+")
_CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_SECRET = re.compile(r"[0-9a-fA-F]{32}")
_INTEGER = re.compile(r"-?[0-9]+")
_RFC3339_UTC = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?Z")
_RELATIVE = re.compile(r"\+([0-9]{1,10})")
# A byte that was not UTF-8: a lone surrogate where we decoded it (surrogateescape), or
# U+FFFD where it was repaired before us; a literal U+FFFD cannot be told from the latter.
_NOT_UTF8 = re.compile("[\ud800-\udfff\ufffd]")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


@dataclass(frozen=True)
class Param:
    name: str
    parse: Callable[[str], Any]
    invalid: int
    missing: int | None = None  # set: the parameter is required on its routes
    drms: tuple[Drm, ...] = ALL_DRMS
    max_repeat: int = 1  # more than one value is allowed only for extensions
    also: tuple[int, ...] = ()  # further codes its parser raises itself (ApiError)
    distinct_by: Callable[[Any], Any] | None = None  # repeated values must differ in this (one policy per track)

    @property
    def codes(self) -> tuple[int, ...]:
        """Every code this row can answer, for the documents checked against the table."""
        return tuple(dict.fromkeys((*((self.missing,) if self.missing is not None else ()), self.invalid, *self.also)))


@dataclass(frozen=True)
class Expiration:
    """``expirationTime`` as given: an absolute instant or seconds after issue."""

    absolute: float | None = None
    relative: int | None = None

    def resolve(self, issued_at: float, earliest_issue: float | None = None) -> int:
        """Epoch seconds of expiry; the token lifetime rule lives here and only here.

        Rounded up to a whole second, so a token never lives shorter than asked and is never
        issued expired. ``earliest_issue`` is the request's arrival, from which an absolute
        time may be at most 30 days ahead (sealing can come a little later).
        """
        if self.relative is not None:
            if not 1 <= self.relative <= MAX_TOKEN_LIFETIME:
                raise ApiError(-2002)
            return math.ceil(issued_at + self.relative)
        start = issued_at if earliest_issue is None else earliest_issue
        if self.absolute is None or self.absolute <= issued_at or self.absolute > start + MAX_TOKEN_LIFETIME:
            raise ApiError(-2002)
        return math.ceil(self.absolute)


DEFAULT_EXPIRATION = Expiration(relative=MAX_TOKEN_LIFETIME)


# --- parsers -------------------------------------------------------------------


def parse_authenticator(value: str) -> Authenticator:
    customer_id, sep, secret = value.partition(",")
    if not sep or not _CUSTOMER_ID.fullmatch(customer_id) or not _SECRET.fullmatch(secret):
        raise ValueError("malformed authenticator")
    return Authenticator(customer_id, secret.lower())


def parse_kid(value: str) -> str:
    """KID as 32 lower-case hex digits; ``^text`` is the first 16 bytes of SHA-1(text)."""
    if value.startswith("^"):
        text = value[1:]
        if not 1 <= len(text) <= 64:
            raise ApiError(-4021)
        return hashlib.sha1(text.encode("utf-8")).digest()[:16].hex()  # noqa: S324 - KID derivation, not security
    if _HEX.fullmatch(value):
        if len(value) != 32:
            raise ApiError(-4020)
        return value.lower()
    raise ValueError("not a kid")


def hex_bytes(*lengths: int) -> Callable[[str], bytes]:
    """A parser for hex strings of one of the given byte lengths."""

    def parse(value: str) -> bytes:
        if not _HEX.fullmatch(value) or len(value) // 2 not in lengths or len(value) % 2:
            raise ValueError("bad hex length")
        return bytes.fromhex(value)

    return parse


def parse_general_flags(value: str) -> str:
    if value not in ("0000", "00000000"):
        raise ValueError("unsupported flags")
    return value


def parse_expiration(value: str) -> Expiration:
    if value.startswith(" "):  # a '+' that was decoded to a space on the way in
        value = "+" + value[1:]
    relative = _RELATIVE.fullmatch(value)
    if relative:
        seconds = int(relative.group(1))
        if seconds < 1:
            raise ValueError("relative expiration must be at least one second")
        return Expiration(relative=seconds)
    match = _RFC3339_UTC.fullmatch(value)
    if not match:
        raise ValueError("not RFC 3339 UTC")
    fraction = float(match.group(7) or 0)
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    instant = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return Expiration(absolute=instant.timestamp() + fraction)


def parse_cookie(value: str) -> str:
    if not 1 <= len(value) <= 32 or not all(" " <= c <= "~" for c in value):
        raise ValueError("cookie must be printable ASCII")
    return value


def parse_content_id(value: str) -> str:
    if not 1 <= len(value) <= 256 or not value.isprintable():
        raise ValueError("contentId must be printable")
    return value


def integer_in(low: int, high: int, out_of_range: int | None = None) -> Callable[[str], int]:
    """A parser for a decimal integer in [low, high]; ``out_of_range`` gets its own code.

    ASCII digits of any length: leading zeros are allowed, and a long number is out of
    range, not "not an integer".
    """

    def parse(value: str) -> int:
        if not _INTEGER.fullmatch(value):
            raise ValueError("not an integer")
        digits = value.lstrip("-").lstrip("0")
        # Values are at most 4 KiB, but there is no need to build a 4,000-digit int to know it is too big.
        number = int(value) if len(digits) <= MAX_INTEGER_DIGITS else (high + 1 if value[0] != "-" else low - 1)
        if not low <= number <= high:
            if out_of_range is not None:
                raise ApiError(out_of_range)
            raise ValueError("out of range")
        return number

    return parse


def parse_extension(value: str) -> dict[str, str]:
    ext_type, sep, payload = value.partition(",")
    if not sep:
        raise ValueError("extension needs type,payload")
    if len(ext_type) != 4 or not all(" " <= c <= "~" for c in ext_type):
        raise ApiError(-2036)
    if not payload or not _BASE64.fullmatch(payload):
        raise ApiError(-2037)
    try:
        decoded = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ApiError(-2037) from error
    if len(decoded) > MAX_EXTENSION_PAYLOAD:
        raise ApiError(-2037)
    return {"type": ext_type, "payload": payload}


def parse_track_policy(value: str) -> tuple[str, int, int]:
    """``TRACK,securityLevel,hdcpOutputControl``: the policy of one track's keys in a Widevine license."""
    track, level, hdcp = (value.split(",") + ["", ""])[:3] if value.count(",") == 2 else ("", "", "")
    if track not in TRACKS:
        raise ValueError("unknown track")
    return track, integer_in(1, 5)(level), integer_in(0, 2)(hdcp)


def reject(value: str) -> Any:
    raise ValueError("parameter not supported")


def route_table(rows: tuple[Param, ...], drm: Drm) -> tuple[Param, ...]:
    """The rows one DRM's route reads, in table order."""
    return tuple(row for row in rows if drm in row.drms)


def parse_error_format(raw: RawParams) -> str:
    """Step 1 of the checks: the format every later error is rendered in."""
    values = [v for v in raw.get("errorFormat", []) if v != ""]
    if not values:
        return "html"
    if len(values) > 1 or values[0] not in ("html", "json"):  # also refuses bytes that were not UTF-8
        raise ApiError(-3004)
    return values[0]


def parse_parameters(raw: RawParams, table: tuple[Param, ...]) -> dict[str, Any]:
    """Validate every parameter of a route's table, in order; empty values count as not given.

    Returns name -> normalised value (a list for repeatable parameters).
    """
    parsed: dict[str, Any] = {}
    for param in table:
        given = raw.get(param.name)
        values = [v for v in given if v != ""] if given else []
        if not values:
            if param.missing is not None:
                raise ApiError(param.missing)
            continue
        if len(values) > param.max_repeat:
            raise ApiError(param.invalid, f"{param.name} given more than once" if param.max_repeat == 1 else "too many")
        if any(_NOT_UTF8.search(v) for v in values):
            raise ApiError(param.invalid)
        try:
            results = [param.parse(v) for v in values]
        except ValueError as error:
            raise ApiError(param.invalid) from error
        if param.distinct_by is not None and len({param.distinct_by(r) for r in results}) < len(results):
            raise ApiError(param.invalid)
        parsed[param.name] = results if param.max_repeat > 1 else results[0]
    return parsed

"""Every error code the API can answer with, its HTTP status and its message.

A new error is one line in ``ERRORS``. Messages never contain the rejected value:
a rejected value may be a content key, a kek or an authenticator secret.
``openapi.yaml``, the docs and the gateway bodies are checked against this table in
``make test``. The one answer outside it is ``UNEXPECTED``: a bug, not a rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# code: (HTTP status, message)
ERRORS: dict[int, tuple[int, str]] = {
    # routing and framing
    -1000: (404, "Invalid URL"),
    -1001: (405, "Method not allowed: the Allow header names the methods of this route"),
    -1002: (400, "Request too large or unreadable: at most 64 parameters, a 16 KiB form body and 4 KiB per value"),
    -3004: (400, "Invalid errorFormat: must be html or json"),
    # authentication and account
    -2017: (401, "Missing customerAuthenticator"),
    -2018: (401, "Invalid authenticator: expected <customerId>,<32 hex digit secret> of a live authenticator"),
    -2031: (401, "Customer account is disabled"),
    -2019: (403, "Token allowance used up"),
    -6006: (403, "Not entitled to FairPlay"),  # the customer (token routes), or no KSM (rights)
    -6009: (403, "FairPlay tokens are switched off on this service"),
    -7011: (403, "Widevine tokens are not enabled for this customer or service"),
    # key material
    -4018: (400, "Missing kid"),
    -4020: (400, "Invalid kid: a hex kid must be exactly 32 hex digits"),
    -4021: (400, "Invalid kid: the ^ form needs 1 to 64 characters after ^"),
    -4022: (400, "Invalid kid: must be 32 hex digits or ^ followed by 1 to 64 characters"),
    -4023: (400, "No license: none of the requested KIDs is in the token"),
    -2027: (400, "Invalid contentKey: must be 32 hex digits"),
    -2005: (
        400,
        "Missing content key: give contentKey, kek with ek or a stored kid, or a held kid or contentId"
        " (not contentKey together with kek)",
    ),
    -4024: (
        400,
        "Invalid kek or ek: kek is 32, 48 or 64 hex digits, ek the 48 hex digit RFC 3394 wrap of the key",
    ),
    -4019: (400, "No key"),  # the detail says which form found none, and what to give
    # token restrictions
    -5003: (400, "Invalid generalFlags: must be 0000 or 00000000"),
    -2002: (
        400,
        "Invalid expirationTime: RFC 3339 UTC time ending in Z or +N seconds, in the future and at most 30 days ahead",
    ),
    -2033: (400, "Invalid cookie: 1 to 32 printable ASCII characters"),
    # rights (ExpressPlay's codes; -2023, a missing rental.playDuration, is not used: it is optional)
    -2020: (400, "Missing rightsType: rental parameters need rightsType=Rental"),
    -2021: (
        400,
        "Invalid rightsType: BuyToOwn or Rental, rental parameters only with Rental,"
        " and not beside licenseDuration or rentalDuration",
    ),
    -2022: (
        400,
        "Missing or invalid rental.periodEndTime: RFC 3339 UTC time ending in Z or +N seconds,"
        " in the future and at most 365 days ahead",
    ),
    -2025: (400, "Invalid rental.playDuration: an integer from 1 to 31536000 seconds"),
    # Widevine policy
    -1100: (
        400,
        "Invalid contentId (1 to 256 printable characters), maxUses (an integer from 1 to 1000)"
        " or renewalInterval (an integer from 60 to 3600)",
    ),
    -1103: (400, "Missing or invalid userId: 1 to 64 ASCII characters from ! to ~"),
    -1104: (400, "Invalid maxStreams: an integer from 1 to 20"),
    -1105: (400, "maxStreams needs userId: the viewer whose streams are counted"),
    -1106: (400, "maxStreams needs renewalInterval: a stream lives by its renewals"),
    -1107: (400, "Invalid streamPolicy: refuse-new or end-oldest"),
    -1108: (400, "streamPolicy needs maxStreams"),
    -1101: (400, "Invalid length: must be an integer from 1 to 32"),
    -1102: (400, "Invalid start: must be the next of a page this service gave"),
    -7003: (400, "Missing securityLevel"),
    -7004: (400, "Invalid securityLevel: must be an integer from 1 to 5"),
    -7006: (400, "Missing hdcpOutputControl"),
    -2008: (400, "Invalid hdcpOutputControl: must be an integer"),
    -2034: (400, "Invalid hdcpOutputControl: must be 0, 1 or 2"),
    -7007: (400, "Invalid licenseDuration: integer seconds from 0 to 2147483647"),
    -7009: (400, "Invalid wvExtension: at most 16, each type,payload"),
    -7002: (400, "Device binding (deviceId) is not supported for Widevine tokens"),
    -7012: (
        400,
        "Invalid trackPolicy: TRACK,securityLevel,hdcpOutputControl, TRACK one of AUDIO, SD, HD, UHD1, UHD2, once each",
    ),
    # FairPlay policy
    -6003: (400, "Missing or invalid iv: must be 32 hex digits"),
    -6007: (400, "Invalid rentalDuration: integer seconds from 0 to 2147483647"),
    -6001: (400, "Invalid fpExtension: at most 16, each type,payload"),
    -6008: (400, "Device binding (deviceId) is not supported for FairPlay tokens"),
    # extensions, both DRMs
    -2036: (400, "Invalid extension type: exactly 4 printable ASCII characters, no comma"),
    -2037: (400, "Invalid extension payload: standard padded base64 of 1 to 1024 bytes"),
    # redemption (docs/rights-api.md): the reason is appended, "Invalid token: expired"
    -4010: (401, "Invalid token"),
    -7008: (400, "Widevine license generation failed"),
    -6004: (400, "Failed to generate CKC"),
    -4001: (403, "Device could not be authenticated"),
    -4030: (403, "Renewal refused: not a renewal of a license this token gave"),
    -4031: (403, "License refused: the rental period or the license's renewals are over"),
    -4033: (403, "License refused: this viewer has maxStreams streams open"),
    -4034: (403, "Renewal refused: this stream has ended"),
    -4035: (404, "No such stream: this viewer has no open stream of that id"),
    -4032: (400, "Persistent license refused: this token grants streaming only (rightsType grants one)"),
    # service: a dependency (DynamoDB, Secrets Manager) failed or throttled; the caller may retry
    -2030: (503, "Service temporarily unavailable, please retry"),
    # the stage's throttling (answered by API Gateway itself, template.yaml's THROTTLED response)
    -2039: (429, "Too many requests: retry after the seconds in Retry-After"),
}

# Anything no rule foresaw: 500, still code -2030, revealing nothing of the cause.
UNEXPECTED = (500, "Internal error")


# A token that opens but may not yield another license: -4010 with 403, not 401 (the
# caller is known; retrying will not help).
USE_LIMIT_STATUS = 403


@dataclass
class ApiError(Exception):
    """A request the API refuses with one of the codes above.

    ``detail`` is appended to the message ("Invalid token: expired"); it must never hold
    a value the caller sent. ``status`` overrides the table's for the one code that has two.
    ``backend_said`` is what a back end said when it refused: for the operator's log line
    only (made safe there), never for the player.
    """

    code: int
    detail: str | None = None
    status_override: int | None = None
    backend_said: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.code not in ERRORS:
            raise KeyError(f"unknown error code {self.code}")
        super().__init__(self.code)

    @property
    def status(self) -> int:
        return self.status_override or ERRORS[self.code][0]

    @property
    def message(self) -> str:
        base = ERRORS[self.code][1]
        return f"{base}: {self.detail}" if self.detail else base


class DependencyError(Exception):
    """DynamoDB or Secrets Manager failed or throttled: the caller may retry (503, -2030)."""


class TokenOpenError(Exception):
    """A token that cannot be opened (code -4010); ``reason`` says why, one word for each cause."""

    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown-key"
    WRONG_DRM = "wrong-drm"
    TAMPERED = "tampered"
    EXPIRED = "expired"

    code = -4010

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail  # says what is wrong with the token, never what it holds

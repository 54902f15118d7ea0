"""The token routes' parameters, one row each (docs/token-api.md, section 5), in the order they are checked."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from drmtoken.core.drm import Drm
from drmtoken.core.heldkeys import TRACKS
from drmtoken.core.params import (
    MAX_DURATION,
    MAX_EXTENSIONS,
    MAX_USES,
    Param,
    hex_bytes,
    integer_in,
    parse_authenticator,
    parse_content_id,
    parse_cookie,
    parse_expiration,
    parse_extension,
    parse_general_flags,
    parse_kid,
    parse_track_policy,
    reject,
    route_table,
)
from drmtoken.core.rights import MAX_PLAY_DURATION, RENEWAL_INTERVAL, parse_rights_type
from drmtoken.core.slots import MAX_STREAMS, parse_stream_policy, parse_user_id

EXTENSION_CODES = (-2036, -2037)  # type, payload


def track_of(policy: tuple[str, int, int]) -> str:
    return policy[0]


WV = (Drm.WIDEVINE,)
FP = (Drm.FAIRPLAY,)

PARAMETERS: tuple[Param, ...] = (
    Param("customerAuthenticator", parse_authenticator, invalid=-2018, missing=-2017),
    Param("kid", parse_kid, invalid=-4022, drms=WV, also=(-4018, -4020, -4021)),
    Param("kid", parse_kid, invalid=-4022, drms=FP, also=(-4020, -4021)),
    Param("contentKey", hex_bytes(16), invalid=-2027),
    Param("kek", hex_bytes(16, 24, 32), invalid=-4024),
    Param("ek", hex_bytes(24), invalid=-4024),
    Param("generalFlags", parse_general_flags, invalid=-5003),
    Param("expirationTime", parse_expiration, invalid=-2002),
    Param("cookie", parse_cookie, invalid=-2033),
    Param("maxUses", integer_in(1, MAX_USES), invalid=-1100),
    Param("contentId", parse_content_id, invalid=-1100),
    Param("rightsType", parse_rights_type, invalid=-2021),
    Param("rental.periodEndTime", parse_expiration, invalid=-2022, also=(-2020, -2021)),
    Param("rental.playDuration", integer_in(1, MAX_PLAY_DURATION), invalid=-2025, also=(-2020, -2021)),
    Param("renewalInterval", integer_in(*RENEWAL_INTERVAL), invalid=-1100, also=(-2021,)),
    Param("userId", parse_user_id, invalid=-1103),
    Param("maxStreams", integer_in(1, MAX_STREAMS), invalid=-1104, also=(-1105, -1106)),
    Param("streamPolicy", parse_stream_policy, invalid=-1107, also=(-1108,)),
    Param("securityLevel", integer_in(1, 5), invalid=-7004, missing=-7003, drms=WV),
    Param(
        "hdcpOutputControl", integer_in(0, 2, out_of_range=-2034), invalid=-2008, missing=-7006, drms=WV, also=(-2034,)
    ),
    Param("licenseDuration", integer_in(0, MAX_DURATION), invalid=-7007, drms=WV),
    Param("trackPolicy", parse_track_policy, invalid=-7012, drms=WV, max_repeat=len(TRACKS), distinct_by=track_of),
    Param("wvExtension", parse_extension, invalid=-7009, drms=WV, max_repeat=MAX_EXTENSIONS, also=EXTENSION_CODES),
    Param("deviceId", reject, invalid=-7002, drms=WV),
    Param("iv", hex_bytes(16), invalid=-6003, drms=FP),
    Param("rentalDuration", integer_in(0, MAX_DURATION), invalid=-6007, drms=FP),
    Param("fpExtension", parse_extension, invalid=-6001, drms=FP, max_repeat=MAX_EXTENSIONS, also=EXTENSION_CODES),
    Param("deviceId", reject, invalid=-6008, drms=FP),
)

ROUTE_PARAMETERS: Mapping[Drm, tuple[Param, ...]] = MappingProxyType({drm: route_table(PARAMETERS, drm) for drm in Drm})

"""The kinds of license, one profile row each: what differs between DRMs is data here, never an if/else.

A new DRM is one ``Drm`` member and one row of ``PROFILES``; the parameter table says
which parameters it reads. Nothing elsewhere may assume that "not Widevine" means FairPlay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Drm(StrEnum):
    """A DRM as it appears in routes (``/hms/<drm>/...``), token headers and claims."""

    WIDEVINE = "wv"
    FAIRPLAY = "fp"


@dataclass(frozen=True)
class DrmProfile:
    drm: Drm
    name: str  # for people: messages, docs
    entitlement: str  # the customer item's entitlements.<name>
    not_entitled: int  # the code when the customer is not entitled to it
    switched_off: int  # the code when the deployment has it switched off
    extension_parameter: str  # the repeatable type,payload parameter of its token route
    settings_prefix: str  # <PREFIX>_LICENSE_URL and <PREFIX>_ENABLED in the environment
    kid_with_ek_is_ambiguous: bool  # kek + kid + ek: does kid name a stored key or the given one?
    given_key_needs: tuple[tuple[str, int], ...]  # (parameter, code when missing) beside a key the caller gives
    no_key_named: int  # the code when no key is given and neither kid nor contentId names a held one
    duration_parameter: str  # its older way to limit playback, which rightsType may not be given beside
    claim_defaults: Mapping[str, Any] = field(default_factory=dict)  # claims a token always carries

    def __post_init__(self) -> None:
        object.__setattr__(self, "claim_defaults", MappingProxyType(dict(self.claim_defaults)))


PROFILES: Mapping[Drm, DrmProfile] = MappingProxyType(
    {
        Drm.WIDEVINE: DrmProfile(
            drm=Drm.WIDEVINE,
            name="Widevine",
            entitlement="widevine",
            not_entitled=-7011,
            switched_off=-7011,
            extension_parameter="wvExtension",
            settings_prefix="WIDEVINE",
            kid_with_ek_is_ambiguous=False,  # kid names the key being given
            given_key_needs=(("kid", -4018),),
            no_key_named=-4018,
            duration_parameter="licenseDuration",
        ),
        Drm.FAIRPLAY: DrmProfile(
            drm=Drm.FAIRPLAY,
            name="FairPlay",
            entitlement="fairplay",
            not_entitled=-6006,
            switched_off=-6009,
            extension_parameter="fpExtension",
            settings_prefix="FAIRPLAY",
            kid_with_ek_is_ambiguous=True,  # kid is optional: with kek it means "the stored key"
            given_key_needs=(("iv", -6003),),  # a held key brings its own IV
            no_key_named=-2005,
            duration_parameter="rentalDuration",
            claim_defaults={"rentalDuration": 0},
        ),
    }
)


def profile(drm: Drm) -> DrmProfile:
    return PROFILES[drm]

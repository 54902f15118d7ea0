"""The rights routes, one row each: which tokens a route redeems and how it names its failures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from drmtoken.core.drm import Drm


@dataclass(frozen=True)
class RightsRoute:
    name: str  # as in /hms/<name>/rights/ and in records and metrics
    redeems: Drm  # the DRM its tokens were sealed for
    generation_failed: int  # the code of a request the back end cannot use (an empty body among them)
    drm_name: str  # what the streams API calls its streams' DRM

    @property
    def path(self) -> str:
        return f"/hms/{self.name}/rights"


RIGHTS_ROUTES: Mapping[str, RightsRoute] = MappingProxyType(
    {
        "wv": RightsRoute("wv", Drm.WIDEVINE, generation_failed=-7008, drm_name="widevine"),
        "fp": RightsRoute("fp", Drm.FAIRPLAY, generation_failed=-6004, drm_name="fairplay"),
        # W3C Clear Key, for Widevine tokens
        "ck": RightsRoute("ck", Drm.WIDEVINE, generation_failed=-7008, drm_name="clearkey"),
    }
)

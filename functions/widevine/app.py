"""Widevine token route: GET and POST /hms/wv/token. All behaviour lives in the drmtoken layer."""

from drmtoken.core.drm import Drm
from drmtoken.issue.api import lambda_handler_for

lambda_handler = lambda_handler_for(Drm.WIDEVINE)

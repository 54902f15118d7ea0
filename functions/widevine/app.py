"""Widevine token route: GET and POST /hms/wv/token. All behaviour lives in the drmtoken layer."""

from drmtoken.api import lambda_handler_for
from drmtoken.params import Drm

lambda_handler = lambda_handler_for(Drm.WIDEVINE)

"""Widevine licenses through the provider's license service: POST /hms/wv/rights/. Behaviour lives in the layer."""

from drmtoken.redeem.api import lambda_handler_for
from drmtoken.runtime import widevine_backend

lambda_handler = lambda_handler_for("wv", widevine_backend)

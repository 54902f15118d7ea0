"""Clear Key licenses for Widevine tokens: POST /hms/ck/rights/. All behaviour lives in the drmtoken layer."""

from drmtoken.redeem.api import lambda_handler_for
from drmtoken.redeem.clearkey import clearkey_backend

lambda_handler = lambda_handler_for("ck", clearkey_backend)

"""A customer's redemption records: GET /cmiapi/getrecord/. All behaviour lives in the drmtoken layer."""

from drmtoken.redeem.getrecord import lambda_handler_for

lambda_handler = lambda_handler_for()

"""FairPlay: CKCs through the customer's KSM (POST /hms/fp/rights/) and the certificate (GET /hms/fp/cert)."""

from drmtoken.redeem.fairplay import lambda_handler_for_fairplay

lambda_handler = lambda_handler_for_fairplay()

"""The SPEKE key provider for AWS packagers: POST /speke/{customerId}. All behaviour lives in the drmtoken layer."""

from drmtoken.provide.api import lambda_handler_for

lambda_handler = lambda_handler_for()

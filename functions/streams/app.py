"""A viewer's open streams: GET /cmiapi/streams/ and POST /cmiapi/streams/end/. All behaviour lives in the layer."""

from drmtoken.redeem.streams_api import lambda_handler_for

lambda_handler = lambda_handler_for()

"""Every path the API does not serve: 404 with code -1000 in the caller's error format."""

from drmtoken.apigw.unknown_path import lambda_handler as lambda_handler

"""Every path the API does not serve: 404 with code -1000 in the caller's error format."""

from drmtoken.api import unknown_path_handler

lambda_handler = unknown_path_handler

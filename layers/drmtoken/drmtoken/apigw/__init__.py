"""API Gateway's REST proxy event in and response out, for either side."""

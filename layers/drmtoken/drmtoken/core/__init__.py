"""The pure core: types, rules, parameters, errors, keys and tokens. No boto3, no API Gateway event."""

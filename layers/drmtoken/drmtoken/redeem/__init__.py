"""The rights side: a presented token becomes a license (docs/rights-api.md)."""

"""The key provider side: SPEKE v1.0/v2.0 requests from packagers answered with held keys (docs/key-provider.md)."""

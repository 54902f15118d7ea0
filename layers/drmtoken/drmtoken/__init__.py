"""Shared code of the DRM token functions: validation, key wrap, token sealing, customer store."""

__version__ = "0.1.0"

"""The demo customer of local runs; events/ uses the same authenticator.

Its secret is public by design: it exists only in local engines (``drmtoken serve``,
tests), never in a deployed table.
"""

DEMO_CUSTOMER = "demo"
DEMO_SECRET = "c0ffee00c0ffee00c0ffee00c0ffee00"  # noqa: S105 - public demo value, local only
DEMO_AUTHENTICATOR = f"{DEMO_CUSTOMER},{DEMO_SECRET}"

"""The demo customer of local runs; events/ uses the same authenticator.

Its secret is public by design: it exists only in local engines (``drmtoken serve``,
tests), never in a deployed table.
"""

from __future__ import annotations

import contextlib

from drmtoken_cli.admin_store import AdminStore, CustomerExists

DEMO_CUSTOMER = "demo"
DEMO_SECRET = "c0ffee00c0ffee00c0ffee00c0ffee00"  # noqa: S105 - public demo value, local only
DEMO_AUTHENTICATOR = f"{DEMO_CUSTOMER},{DEMO_SECRET}"


def ensure_demo_customer(store: AdminStore, environment: str) -> None:
    """The demo customer, entitled to every DRM, with its known authenticator live."""
    from drmtoken.core.drm import PROFILES

    with contextlib.suppress(CustomerExists):  # a restart against a kept engine finds it there
        store.create_customer(DEMO_CUSTOMER, {}, **{row.entitlement: True for row in PROFILES.values()})
    store.add_authenticator(DEMO_CUSTOMER, environment, secret=DEMO_SECRET)

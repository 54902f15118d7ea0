"""The operator command names the stack's tables from one prefix, as the template does (README, Operate)."""

from __future__ import annotations

import pytest

from drmtoken_cli.main import parse


def test_one_prefix_names_every_table_and_a_table_given_by_name_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("TABLE_PREFIX", "CUSTOMERS_TABLE", "CONTENT_KEYS_TABLE", "HELD_KEYS_TABLE", "RECORDS_TABLE"):
        monkeypatch.delenv(variable, raising=False)
    default = parse(["keys", "held", "acme"])
    assert (default.table, default.held_keys_table, default.records_table) == (
        "drm-token-customers",
        "drm-token-held-keys",
        "drm-token-records",
    )
    prod = parse(["--table-prefix", "prod", "records", "acme"])
    assert (prod.table, prod.keys_table, prod.held_keys_table, prod.records_table) == (
        "prod-customers",
        "prod-content-keys",
        "prod-held-keys",
        "prod-records",
    )
    monkeypatch.setenv("TABLE_PREFIX", "stage")
    monkeypatch.setenv("RECORDS_TABLE", "kept-records")
    mixed = parse(["--held-keys-table", "mine", "records", "acme"])
    assert (mixed.table, mixed.held_keys_table, mixed.records_table) == ("stage-customers", "mine", "kept-records")

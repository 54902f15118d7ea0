"""One module per command group; each ``register``s its subcommands on the top-level parser."""

from __future__ import annotations

import argparse
from typing import Any

Groups = Any  # argparse's private _SubParsersAction


def store_from(args: argparse.Namespace) -> Any:
    """The operator's view of the tables named by --table / --keys-table."""
    from drmtoken.adapters.aws import client
    from drmtoken_cli.admin_store import AdminStore

    return AdminStore(client("dynamodb"), args.table, args.keys_table)

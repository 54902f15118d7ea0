"""``drmtoken``: run the token business from a terminal. This module only wires the command groups.

Every command talks to DynamoDB through boto3's normal configuration, so
AWS_PROFILE / AWS_REGION pick the account and AWS_ENDPOINT_URL_DYNAMODB points it
at a local engine. Errors are one line on stderr and exit status 1 (2 for usage).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from drmtoken.core.errors import DependencyError

from .admin_store import ChangeNotMade, ChangeUnknown, CustomerExists, CustomerNotFound
from .arguments import non_negative
from .commands import authenticators, customers, keyring, keys, local, records, streams, tokens
from .errors import CommandError

DEFAULT_TABLE_PREFIX = "drm-token"  # template.yaml's TablePrefix default
TABLES = (  # argument, its variable, and the name after the prefix (template.yaml's TableName)
    ("table", "CUSTOMERS_TABLE", "customers"),
    ("keys_table", "CONTENT_KEYS_TABLE", "content-keys"),
    ("held_keys_table", "HELD_KEYS_TABLE", "held-keys"),
    ("records_table", "RECORDS_TABLE", "records"),
)
GROUPS = (customers, authenticators, keys, tokens, records, streams, keyring, local)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="drmtoken",
        description="Operate the DRM token service: customers, authenticators, allowances, keys, tokens; "
        "run it locally with `serve`.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""examples:
  drmtoken customers create acme --token-limit test=1000
  drmtoken authenticators add acme --environment test      # prints acme,<secret> once
  drmtoken customers set-limit acme --environment prod 50000
  drmtoken --table prod-customers customers list --json
  drmtoken tokens inspect 'https://wv.example.com/hms/wv/rights/?ExpressPlayToken=...'
  drmtoken records acme --cookie session-1 --json            # redemptions, newest first
  drmtoken streams acme viewer-7                             # a viewer's open streams
  drmtoken streams end acme viewer-7 MvUKyYcE2fMz9HqS        # end one: its next renewal is refused
  drmtoken keys held acme --content movie-42                 # keys made for acme's packagers
  drmtoken keys iam-policy acme --role-arn arn:aws:iam::111122223333:role/MediaPackageSpeke \
      --api-arn arn:aws:execute-api:us-east-1:111122223333:a1b2c3d4e5

AWS_PROFILE and AWS_REGION choose the account; AWS_ENDPOINT_URL_DYNAMODB points at a local engine.""",
    )
    parser.add_argument(
        "--table-prefix",
        default=os.environ.get("TABLE_PREFIX", DEFAULT_TABLE_PREFIX),
        help="the stack's TablePrefix: names every table below unless it is given (default: $TABLE_PREFIX or"
        " %(default)s)",
    )
    parser.add_argument(
        "--table",
        help="customers table (default: $CUSTOMERS_TABLE, else <prefix>-customers)",
    )
    parser.add_argument(
        "--keys-table",
        help="content keys table (default: $CONTENT_KEYS_TABLE, else <prefix>-content-keys)",
    )
    parser.add_argument(
        "--held-keys-table",
        help="held keys table (default: $HELD_KEYS_TABLE, else <prefix>-held-keys)",
    )
    parser.add_argument(
        "--records-table",
        help="redemption records table (default: $RECORDS_TABLE, else <prefix>-records)",
    )
    parser.add_argument(
        "--template",
        type=Path,
        default=default_template(),
        help="the SAM template that serve, invoke and tables read (default: ./template.yaml, else this project's)",
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(groups)
    return parser


def load_template(path: Path, parameters: dict[str, str] | None = None) -> object:
    from .devserver.template import Template, TemplateError

    if not path.is_file():
        raise CommandError(f"no template at {path}: run from the project directory or pass --template")
    try:
        return Template(path, parameters)
    except TemplateError as error:
        raise CommandError(f"template: {error}") from None


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # One prefix names every table, as the template does; a table given by name (flag or variable) wins.
    for name, variable, suffix in TABLES:
        if getattr(args, name) is None:
            setattr(args, name, os.environ.get(variable) or f"{args.table_prefix}-{suffix}")
    # argparse cannot fill an optional positional that follows an option (`ID --environment test 5`).
    trailing = getattr(args, "optional_trailing_number", None)
    if trailing is not None:
        if getattr(args, trailing) is None and len(extra) == 1:
            setattr(args, trailing, non_negative(extra.pop()))
        if (getattr(args, trailing) is None) == (not args.unlimited):
            parser.error("customers set-limit takes a number N or --unlimited, not both or neither")
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.load_template = functools.partial(load_template, args.template, dict(getattr(args, "parameters", None) or []))
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse(argv)
    except argparse.ArgumentTypeError as error:
        print(f"drmtoken: {error}", file=sys.stderr)
        return 2
    from .commands.keyring import KeyringUnavailable

    try:
        args.func(args)
    except CommandError as error:
        return fail(str(error))
    except CustomerExists as error:
        return fail(f"customer {error} already exists; nothing changed")
    except CustomerNotFound as error:
        return fail(f"no customer {error}")
    except (ChangeNotMade, ChangeUnknown) as error:
        return fail(str(error))
    except DependencyError as error:
        return fail(f"DynamoDB failed: {error}")
    except KeyringUnavailable as error:
        return fail(f"keyring: {error}")
    except (BotoCoreError, ClientError) as error:
        return fail(f"AWS: {error}")
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the promise is one line on stderr, whatever went wrong
        if os.environ.get("DRMTOKEN_DEBUG"):
            raise
        return fail(f"unexpected {type(error).__name__}; set DRMTOKEN_DEBUG=1 to see the traceback")
    return 0


def fail(message: str) -> int:
    print(f"drmtoken: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())


def default_template() -> Path:
    """./template.yaml where there is one; else the project this command was installed from (`make install`)."""
    here = Path("template.yaml")
    project = Path(__file__).resolve().parents[2] / "template.yaml"
    return here if here.is_file() or not project.is_file() else project

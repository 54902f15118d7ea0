"""`drmtoken keys`: wrapped content keys (the kek + kid form), held keys (SPEKE) and the packager's IAM policy."""

from __future__ import annotations

import argparse
import json
import os
import re
from datetime import UTC, datetime
from typing import Any

from drmtoken_cli.arguments import customer_id, emit, kid_value, note, wrapped_key
from drmtoken_cli.errors import CommandError

from . import Groups, store_from


def register(groups: Groups) -> None:
    keys = groups.add_parser("keys", help="wrapped content keys for the kek + kid form")
    sub = keys.add_subparsers(dest="command", required=True, metavar="ACTION")
    p = sub.add_parser("put", help="store a content key wrapped (RFC 3394) under the customer's kek")
    p.add_argument("id", type=customer_id)
    p.add_argument("kid", type=kid_value)
    p.add_argument("--ek", required=True, type=wrapped_key, help="48 hex digits")
    p.set_defaults(func=put)
    p = sub.add_parser("delete", help="delete a stored key")
    p.add_argument("id", type=customer_id)
    p.add_argument("kid", type=kid_value)
    p.set_defaults(func=delete)
    p = sub.add_parser("held", help="keys held for a customer's packagers (KID, content, track, date; never a key)")
    p.add_argument("id", type=customer_id)
    p.add_argument("--content", help="only the keys of this content id")
    p.add_argument("--json", action="store_true", help="a JSON list instead of lines")
    p.set_defaults(func=held)
    p = sub.add_parser(
        "reseal",
        help="seal every held key under the key-sealing keyring's active key (after `keyring rotate`); safe to rerun",
    )
    p.add_argument(
        "--secret-id",
        default=os.environ.get("KEY_SEALING_KEYRING_SECRET"),
        help="the key-sealing keyring secret (default: $KEY_SEALING_KEYRING_SECRET, else $KEY_SEALING_KEYRING,"
        " else the local one of `serve`)",
    )
    p.set_defaults(func=reseal)
    p = sub.add_parser(
        "iam-policy", help="the IAM policy a packager's role needs for this customer's key provider path"
    )
    p.add_argument("id", type=customer_id)
    p.add_argument("--role-arn", required=True, type=role_arn, help="the role MediaPackage or MediaConvert assumes")
    p.add_argument(
        "--api-arn",
        required=True,
        type=api_arn,
        help="arn:aws:execute-api:<region>:<account>:<api id> (the stack's KeyProviderUrl names the API id)",
    )
    p.add_argument("--stage", default="v1", help="the API stage (default: %(default)s)")
    p.set_defaults(func=iam_policy)


def reseal(args: argparse.Namespace) -> None:
    from drmtoken.adapters.aws import client
    from drmtoken_cli.devserver.local_keyring import SEALING_KEYRING_FILE
    from drmtoken_cli.sealing import reseal_all

    from .keyring import load_keyring

    keyring = load_keyring(
        args.secret_id, args.template.parent, "KEY_SEALING_KEYRING", "KEY_SEALING_KEYRING_SECRET", SEALING_KEYRING_FILE
    )
    done = reseal_all(client("dynamodb"), args.held_keys_table, keyring, lambda so_far: note(so_far.line()))
    note(f"done, under {keyring.active}: {done.line()}")
    if done.unopenable:
        raise CommandError(f"{done.unopenable} held keys do not open with this ring: its older keys are needed")


def put(args: argparse.Namespace) -> None:
    store_from(args).put_key(args.id, args.kid, args.ek)
    note(f"stored wrapped key {args.kid} for {args.id}")


def delete(args: argparse.Namespace) -> None:
    if not store_from(args).delete_key(args.id, args.kid):
        raise CommandError(f"no stored key {args.kid} for {args.id}")
    note(f"deleted key {args.kid} of {args.id}")


def held(args: argparse.Namespace) -> None:
    from drmtoken.adapters.aws import client
    from drmtoken.adapters.dynamodb import call
    from drmtoken.adapters.items import CONTENT_INDEX, CONTENT_REF, CUSTOMER_ID

    query: dict[str, Any] = {
        "TableName": args.held_keys_table,
        "KeyConditionExpression": "#key = :value",
        # Never the sealed key: an operator's listing has no use for it.
        "ProjectionExpression": "kid, contentId, trackType, createdAt",
    }
    if args.content:
        query.update(IndexName=CONTENT_INDEX, ExpressionAttributeNames={"#key": CONTENT_REF})
        query["ExpressionAttributeValues"] = {":value": {"S": f"{args.id}#{args.content}"}}
    else:
        query.update(
            ExpressionAttributeNames={"#key": CUSTOMER_ID}, ExpressionAttributeValues={":value": {"S": args.id}}
        )
    found: list[dict[str, Any]] = []
    while True:
        page = call(client("dynamodb"), "query", **query)
        found += [
            {
                "kid": item["kid"]["S"],
                "contentId": item.get("contentId", {}).get("S", ""),
                "trackType": item.get("trackType", {}).get("S", ""),
                "created": datetime.fromtimestamp(int(item.get("createdAt", {}).get("N", "0")), UTC).isoformat(),
            }
            for item in page.get("Items", [])
        ]
        if "LastEvaluatedKey" not in page:
            break
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    emit(
        args,
        found,
        lambda: ["\t".join(k[name] or "-" for name in ("kid", "contentId", "trackType", "created")) for k in found],
    )


_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
_API_ARN = re.compile(r"arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[0-9]{12}:[a-z0-9]{10}")


def role_arn(value: str) -> str:
    if not _ROLE_ARN.fullmatch(value):
        raise argparse.ArgumentTypeError("--role-arn must be arn:aws:iam::<account>:role/<name>")
    return value


def api_arn(value: str) -> str:
    if not _API_ARN.fullmatch(value):
        raise argparse.ArgumentTypeError(
            "--api-arn must be arn:aws:execute-api:<region>:<account>:<10-character api id>"
        )
    return value


def iam_policy(args: argparse.Namespace) -> None:
    """The statement that lets one role call one customer's key provider path, and how to attach it."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"SpekeKeysFor{args.id.replace('-', '').replace('_', '')}",
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": f"{args.api_arn}/{args.stage}/POST/speke/{args.id}",
            }
        ],
    }
    role_name = args.role_arn.rsplit("/", 1)[1]
    document = json.dumps(policy, indent=2)
    print(document)
    note(
        f"attach it to {role_name}: aws iam put-role-policy --role-name {role_name} "
        f"--policy-name speke-{args.id} --policy-document '{json.dumps(policy)}'"
    )

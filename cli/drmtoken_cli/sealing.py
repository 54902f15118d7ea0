"""The key-sealing keyring's operator routines over the held-keys table: which keys seal items, and resealing.

Resealing moves every held key to the active sealing key, so older sealing keys can leave
the ring (`drmtoken keyring rotate` removes none that still seals an item). Each item is
rewritten only if its sealed bytes are still those read (a conditional update), so it is
safe beside packagers (which only put new KIDs) and redemptions (which only read), safe to
stop at any point, and safe to run again: what is already under the active key is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from drmtoken.adapters.dynamodb import call, conditional_write
from drmtoken.adapters.items import CUSTOMER_ID, KID, SEALED_KEY, held_key_key
from drmtoken.core.heldkeys import SealedKeyError, reseal_held_key, sealing_key_id
from drmtoken.core.token import Keyring


@dataclass
class Resealed:
    """What a reseal run did, item by item."""

    scanned: int = 0
    resealed: int = 0
    current: int = 0  # already under the active key
    changed: int = 0  # rewritten or deleted by someone else meanwhile: left as found
    unopenable: int = 0  # under a key the ring no longer has, or damaged: left as found, and counted

    def line(self) -> str:
        return (
            f"scanned {self.scanned}: resealed {self.resealed}, already under the active key {self.current},"
            f" changed meanwhile {self.changed}, not openable with this ring {self.unopenable}"
        )


def held_items(client: Any, table: str) -> Iterator[list[dict[str, Any]]]:
    """The held-keys table a page at a time: customer, KID and sealed bytes (never opened here)."""
    scan: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "#customer, #kid, #sealed",
        "ExpressionAttributeNames": {"#customer": CUSTOMER_ID, "#kid": KID, "#sealed": SEALED_KEY},
        "ConsistentRead": True,
    }
    while True:
        page = call(client, "scan", **scan)
        yield page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def sealing_key_counts(client: Any, table: str) -> dict[str, int]:
    """How many held keys each sealing key id seals."""
    counts: Counter[str] = Counter()
    for items in held_items(client, table):
        counts.update(sealing_key_id(bytes(item[SEALED_KEY]["B"])) for item in items)
    return dict(counts)


def reseal_all(client: Any, table: str, keyring: Keyring, progress: Callable[[Resealed], None]) -> Resealed:
    """Reseal every held key not under ``keyring``'s active key; ``progress`` hears after each page."""
    done = Resealed()
    for items in held_items(client, table):
        for item in items:
            done.scanned += 1
            customer_id, kid, sealed = item[CUSTOMER_ID]["S"], item[KID]["S"], bytes(item[SEALED_KEY]["B"])
            if sealing_key_id(sealed) == keyring.active:
                done.current += 1
                continue
            try:
                fresh = reseal_held_key(keyring, customer_id, kid, sealed)
            except SealedKeyError:
                done.unopenable += 1
                continue
            refused = conditional_write(
                client,
                "update_item",
                TableName=table,
                Key=held_key_key(customer_id, kid),
                UpdateExpression="SET #sealed = :fresh",
                ConditionExpression="#sealed = :seen",  # a retry that landed finds :fresh: changed, and fine
                ExpressionAttributeNames={"#sealed": SEALED_KEY},
                ExpressionAttributeValues={":fresh": {"B": fresh}, ":seen": {"B": sealed}},
            )
            if refused is None:
                done.resealed += 1
            else:
                done.changed += 1
        progress(done)
    return done

"""A customer's allowance split over shard items: the rules, with no I/O (docs/data-model.md, "Shards").

Every shard carries a count and, for a limited environment, a budget; the budgets sum to
the limit. A charge adds one to a shard only while its count is below its budget, and a
move takes budget from a shard only while what stays covers its count. So the counts
can never sum past the limit, however requests interleave.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MAX_SHARDS = 100  # every shard is written in one transaction by operator changes: DynamoDB's limit
SHARD_SEPARATOR = "#"  # customer ids never contain it (core.params)


@dataclass(frozen=True)
class Shard:
    """One shard item's count and budget in one environment, as read."""

    index: int
    issued: int
    budget: int | None  # None: unlimited

    @property
    def room(self) -> int:
        return 0 if self.budget is None else max(0, self.budget - self.issued)


@dataclass(frozen=True)
class Move:
    """Budget to take from ``donor`` (whose budget was ``donor_budget`` when read) and give to ``to``."""

    donor: int
    donor_budget: int
    amount: int
    to: int

    @property
    def donor_budget_after(self) -> int:
        return self.donor_budget - self.amount


def check_shard_count(shards: int) -> int:
    if not 1 <= shards <= MAX_SHARDS:
        raise ValueError(f"a customer has 1 to {MAX_SHARDS} shards, not {shards}")
    return shards


def shard_item_id(customer_id: str, index: int) -> str:
    """Shard 0 is the customer's own item; the others carry the index after the id."""
    return customer_id if index == 0 else f"{customer_id}{SHARD_SEPARATOR}{index}"


def used_up(shards: list[Shard], allowance: int | None) -> bool:
    """True when the counts reach the customer's whole allowance (the limit every shard item carries).

    Counts only grow between an operator's changes (a refund aside), so counts read one
    item after another never sum to more than the counts at the last read: when they reach
    the allowance, it was spent at that moment. Budgets are not summed: a move between two
    reads would hide the budget it carries, and refuse a token that still had room.
    """
    return allowance is not None and sum(shard.issued for shard in shards) >= allowance


def plan_move(shards: list[Shard], to: int, rng: random.Random | None = None) -> Move | None:
    """Half the room of a shard that has some (chosen at random, so racing requests rarely pick the same one).

    None when no shard other than ``to`` has room as read.
    """
    donors = [shard for shard in shards if shard.index != to and shard.room > 0]
    if not donors:
        return None
    donor = (rng or random).choice(donors)  # spreading load, not security
    assert donor.budget is not None
    return Move(donor=donor.index, donor_budget=donor.budget, amount=(donor.room + 1) // 2, to=to)


def spread(limit: int | None, issued: list[int], active: int) -> list[int | None]:
    """Budgets for every shard item that sum to ``limit``: each keeps its count, the room goes to the active ones.

    The room is shared evenly over the first ``active`` shards; the shards beyond (retired
    by a smaller shard count) keep only their count. When the limit is below what is
    already counted, budgets are cut from the last shard back, so none exceeds its count.
    """
    if limit is None:
        return [None] * len(issued)
    budgets = list(issued)
    room = limit - sum(issued)
    if room >= 0:
        share, extra = divmod(room, active)
        for index in range(active):
            budgets[index] += share + (1 if index < extra else 0)
    else:
        excess = -room
        for index in reversed(range(len(budgets))):
            cut = min(excess, budgets[index])
            budgets[index] -= cut
            excess -= cut
    return list[int | None](budgets)

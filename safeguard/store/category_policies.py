"""A list's action per category: what a hit on an entry of that grade leads to.

A national list is not one decision: a VICS 1 hit is blocked, a VICS 2 (exploitive,
age-difficult) one sent to review, a VICS 0 (non-pertinent) one leads to nothing. Each
list may set an action and a PDQ review threshold per category; a category it does not
name takes the list's own action (block by default) and review threshold, except VICS 0,
whose default is no action at all: a non-pertinent file is not a finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from safeguard.errors import UsageError
from safeguard.store.schema import list_category_policies
from safeguard.store.thresholds import MAX_REVIEW_THRESHOLD
from safeguard.vocabulary.categories import Scheme, normalise_category
from safeguard.vocabulary.entries import Action, ListKind

NO_ACTION = "none"  # a category whose hits are reported and lead to nothing
UNCATEGORISED = ""  # how entries without a category are named in the table


@dataclass(frozen=True, slots=True)
class CategoryPolicy:
    action: str | None = None  # an Action's value, "none", or None: the list's own
    review_threshold: int | None = None  # None: the list's PDQ review threshold


def category_key(scheme: Scheme, text: str) -> str:
    """A category as the table keys it (``none`` or ``-``: uncategorised entries)."""
    if text.strip().lower() in ("none", "-", ""):
        return UNCATEGORISED
    try:
        return normalise_category(scheme, text) or UNCATEGORISED
    except ValueError as error:
        raise UsageError(str(error)) from None


def hit_action(
    kind: ListKind,
    scheme: Scheme,
    list_action: Action | None,
    category: str | None,
    policy_action: str | None,
) -> Action | None:
    """What a hit on an entry of ``category`` leads to (None: nothing)."""
    if kind is ListKind.KNOWN_GOOD:
        return None
    if policy_action is not None:
        return None if policy_action == NO_ACTION else Action(policy_action)
    if scheme is Scheme.VICS and category == "0":
        return None  # non-pertinent: not a finding unless a policy says otherwise
    return list_action or Action.BLOCK


def check_policies(policies: Mapping[str, CategoryPolicy]) -> None:
    for category, policy in policies.items():
        if policy.action is not None and policy.action != NO_ACTION:
            try:
                Action(policy.action)
            except ValueError:
                names = ", ".join([*(a.value for a in Action), NO_ACTION])
                raise UsageError(
                    f"category {category or 'none'}: action is one of {names}"
                ) from None
        review = policy.review_threshold
        if review is not None and not 1 <= review <= MAX_REVIEW_THRESHOLD:
            raise UsageError(f"a review threshold is between 1 and {MAX_REVIEW_THRESHOLD}")


def read_policies(
    connection: Connection, list_ids: Iterable[int] | None = None
) -> dict[int, dict[str, CategoryPolicy]]:
    query = select(list_category_policies)
    if list_ids is not None:
        query = query.where(list_category_policies.c.list_id.in_(list(list_ids)))
    found: dict[int, dict[str, CategoryPolicy]] = {}
    for row in connection.execute(query):
        found.setdefault(row.list_id, {})[row.category] = CategoryPolicy(
            row.action, row.review_threshold
        )
    return found


def write_policies(
    connection: Connection, list_id: int, policies: Mapping[str, CategoryPolicy]
) -> None:
    """Set the policies of the categories named; each replaces what was there."""
    for category, policy in policies.items():
        connection.execute(
            delete(list_category_policies).where(
                list_category_policies.c.list_id == list_id,
                list_category_policies.c.category == category,
            )
        )
        if policy != CategoryPolicy():
            connection.execute(
                list_category_policies.insert().values(
                    list_id=list_id,
                    category=category,
                    action=policy.action,
                    review_threshold=policy.review_threshold,
                )
            )

"""A list's own match distances, per signal.

Each signal has a default (PDQ 31, vPDQ frames 31, exact hashes 0); a list may set its
own for any signal with a distance, and for a Hamming-indexed signal also a *review
threshold*: distances above the match threshold and up to it are queued for a person
by the match service. A list with nothing set for a signal uses the signal's default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select

from safeguard.errors import UsageError
from safeguard.signals import SIGNAL_TYPES, IndexKind
from safeguard.store.schema import list_thresholds

MAX_REVIEW_THRESHOLD = 128


@dataclass(frozen=True, slots=True)
class Thresholds:
    threshold: int | None = None  # None: the signal's default
    review_threshold: int | None = None  # None: no review band

    def merged(self, change: Thresholds) -> Thresholds:
        """These thresholds with the ones ``change`` sets (None keeps the current one)."""
        return Thresholds(
            change.threshold if change.threshold is not None else self.threshold,
            change.review_threshold
            if change.review_threshold is not None
            else self.review_threshold,
        )


NO_THRESHOLDS = Thresholds()


def effective_threshold(signal: str, threshold: int | None) -> int:
    return threshold if threshold is not None else SIGNAL_TYPES[signal].default_threshold


def check_thresholds(thresholds: Mapping[str, Thresholds]) -> None:
    """Refuse distances for signals without one, and review bands that are not above
    the match threshold."""
    for signal, wanted in thresholds.items():
        signal_type = SIGNAL_TYPES.get(signal)
        if signal_type is None or signal_type.index is IndexKind.EXACT:
            settable = ", ".join(
                name for name, s in SIGNAL_TYPES.items() if s.index is not IndexKind.EXACT
            )
            raise UsageError(f"{signal!r} has no match distance to set (one of: {settable})")
        if wanted.threshold is not None and not 0 <= wanted.threshold <= MAX_REVIEW_THRESHOLD:
            raise UsageError(f"a {signal} match distance is between 0 and {MAX_REVIEW_THRESHOLD}")
        if wanted.review_threshold is None:
            continue
        if signal_type.index is not IndexKind.HAMMING:
            raise UsageError(f"{signal} matches have no review band")
        threshold = effective_threshold(signal, wanted.threshold)
        if not threshold < wanted.review_threshold <= MAX_REVIEW_THRESHOLD:
            raise UsageError(
                f"the {signal} review threshold must be above the match threshold ({threshold}) "
                f"and at most {MAX_REVIEW_THRESHOLD}"
            )


def read_thresholds(
    connection: Connection, list_ids: Iterable[int] | None = None
) -> dict[int, dict[str, Thresholds]]:
    """Each list's thresholds by signal (all lists, or those of ``list_ids``)."""
    query = select(list_thresholds)
    if list_ids is not None:
        query = query.where(list_thresholds.c.list_id.in_(list(list_ids)))
    found: dict[int, dict[str, Thresholds]] = {}
    for row in connection.execute(query):
        found.setdefault(row.list_id, {})[row.signal] = Thresholds(
            row.threshold, row.review_threshold
        )
    return found


def write_thresholds(
    connection: Connection, list_id: int, thresholds: Mapping[str, Thresholds]
) -> None:
    """Set a list's thresholds for the signals named (each replaces what was there)."""
    for signal, wanted in thresholds.items():
        connection.execute(
            delete(list_thresholds).where(
                list_thresholds.c.list_id == list_id, list_thresholds.c.signal == signal
            )
        )
        if wanted != NO_THRESHOLDS:
            connection.execute(
                list_thresholds.insert().values(
                    list_id=list_id,
                    signal=signal,
                    threshold=wanted.threshold,
                    review_threshold=wanted.review_threshold,
                )
            )

"""What every list reader shares: options, and turning one source row into an entry."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from safeguard.errors import UsageError
from safeguard.signals import SIGNAL_TYPES
from safeguard.vocabulary.categories import Scheme, normalise_category
from safeguard.vocabulary.entries import BadRecord, NewEntry


@dataclass(frozen=True, slots=True)
class ReadOptions:
    scheme: Scheme = Scheme.UK
    category: str | None = None  # for every entry of a file that carries no categories
    signal: str | None = None  # what 64-hex lines of a plain text list are (sha256 or pdq)
    # How VICS integer categories map (see formats.lists.vics); None: as the file's own
    # context URL names its profile, US when it names none.
    vics_profile: str | None = None


def make_entry(
    signal: str,
    text: str,
    record: int | str,
    options: ReadOptions,
    category: object = None,
    *,
    series: str | None = None,
    victim_identified: bool | None = None,
    external_id: str | None = None,
    notes: str | None = None,
    disabled: bool = False,
    disabled_until: datetime | None = None,
) -> NewEntry | BadRecord:
    """Validate one hash (and its category) from a source row."""
    signal_type = SIGNAL_TYPES.get(signal)
    if signal_type is None:
        return BadRecord(record, f"unsupported signal type {signal!r}")
    try:
        value = signal_type.parse(text)
    except UsageError as error:
        return BadRecord(record, str(error))
    try:
        graded = normalise_category(options.scheme, category)
    except ValueError as error:
        return BadRecord(record, str(error))
    if graded is None and options.category is not None:
        graded = normalise_category(options.scheme, options.category)
    return NewEntry(
        signal=signal,
        value=value,
        category=graded,
        series=series or None,
        victim_identified=victim_identified,
        external_id=external_id or None,
        notes=notes or None,
        disabled=disabled,
        disabled_until=disabled_until,
        record=record if isinstance(record, int) else 0,
    )


_BOOLEANS = {
    **dict.fromkeys(("true", "1", "yes", "y", "t"), True),
    **dict.fromkeys(("false", "0", "no", "n", "f"), False),
    "": None,
}


def parse_bool(raw: object) -> bool | None:
    """JSON booleans, and the strings real exports use ("true", "False", "1", ...)."""
    if raw is None or raw is True or raw is False:
        return raw
    text = str(raw).strip().lower()
    if text in _BOOLEANS:
        return _BOOLEANS[text]
    raise ValueError(f"not a boolean: {raw!r}")


def parse_timestamp(raw: object) -> datetime | None:
    if raw in (None, ""):
        return None
    return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))


def csv_rows(reader) -> Iterator[tuple[int, list[str] | BadRecord]]:
    """(line, cells); a line the CSV parser refuses (a field over its size limit) is a bad
    record, and reading goes on with the next line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield reader.line_num, BadRecord(reader.line_num, f"unreadable CSV line: {error}")
            continue
        yield reader.line_num, row

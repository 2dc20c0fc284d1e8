"""Project VIC "VICS" JSON: hash sets and case exports, read streaming, written as 2.0.

Both envelopes are read: 1.1-1.3 (``odata.metadata``) and 2.0
(``@odata.context``), and both shapes: a hash set (Media records under
``value``) and a case export (``value`` -> Case -> ``Media[]`` -> ``MediaFiles[]``),
told apart by structure rather than by the exact URL. Files reach gigabytes, so
records are built one at a time from the parser's event stream; a case's
``Media`` array is never held whole. UTF-8 with or without BOM and UTF-16 with
BOM are accepted; hex in either case; booleans as JSON or as strings. (One writer ends a
case export's context URL with ``#Media``: the structure decides, not the suffix.)

Categories are integers whose meaning depends on the profile:

* ``us`` (VICS 2.0 Default/US): 0 non-pertinent, 1-4 as graded, null uncategorised;
* ``dhs`` (the older DHS-era numbering): 0 uncategorised, 5 non-pertinent, 1-4 as above.

A 2.0 file names its profile in its context URL (``.../2.0.xml/US/$metadata#Media``):
US and Default read as ``us``, DHS as ``dhs``. The UK profile's integer codes for CAID
grades are not public, so a UK-profile file (or one naming a profile not known here) is
refused rather than read with US codes, which would launder its grades into another
profile's; ``--vics-profile`` says how to read it when its codes are known to be those.

SHA-256 and PDQ travel in ``AlternativeHashes``; PhotoDNA (proprietary) is validated,
never matched on.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

import ijson

from safeguard.errors import UsageError
from safeguard.formats.lists.common import ReadOptions, parse_bool, parse_timestamp
from safeguard.formats.lists.json_depth import MAX_DEPTH, too_deep
from safeguard.signals import SIGNAL_TYPES
from safeguard.vocabulary.categories import Scheme, normalise_category
from safeguard.vocabulary.entries import BadRecord, NewEntry, StoredEntry

PROFILES: dict[str, dict[int, str | None]] = {
    "us": {0: "0", 1: "1", 2: "2", 3: "3", 4: "4"},
    "dhs": {0: None, 1: "1", 2: "2", 3: "3", 4: "4", 5: "0"},
}
CONTEXT_2_0 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
_ALTERNATIVE_NAMES = {
    "sha256": "sha256",
    "sha-256": "sha256",
    "pdq": "pdq",
    "vpdq": "vpdq",  # a video's frames, written as Safeguard writes them (see signals.vpdq)
    "md5": "md5",
    "sha1": "sha1",
    "sha-1": "sha1",
}
_PHOTODNA_BYTES = 144
# The profile segment of a 2.0 context URL: .../DataModels/2.0.xml/<profile>/$metadata#...
_CONTEXT_PROFILE = re.compile(r"\.xml/([A-Za-z][A-Za-z0-9_-]*)/\$metadata", re.ASCII)
_ENVELOPE_KEYS = ("value", "@odata.context", "odata.metadata")
_META_EXTERNAL_ID = "ExternalID"
_META_DISABLED = "SafeguardDisabled"
_META_DISABLED_UNTIL = "SafeguardDisabledUntil"


def read(path: Path, options: ReadOptions) -> Iterator[NewEntry | BadRecord]:
    if options.scheme is not Scheme.VICS:
        raise UsageError("VICS categories are Project VIC codes: import with --scheme vics")
    if options.vics_profile is not None and options.vics_profile not in PROFILES:
        raise UsageError(f"unknown VICS profile {options.vics_profile!r}: {', '.join(PROFILES)}")
    record = 0
    with path.open("rb") as raw, _as_utf8(raw) as stream:
        deep = too_deep(stream)
    if deep is not None:  # a parser would spend gigabytes on the paths of such nesting
        yield BadRecord(
            f"record {deep.record}",
            f"JSON nested {deep.depth} levels deep at byte {deep.offset:,} (VICS needs under "
            f"{MAX_DEPTH}): the file is refused before parsing",
        )
        return
    try:
        with path.open("rb") as raw, _as_utf8(raw) as stream:
            prefix, named = _media_prefix(stream)
        mapping = PROFILES[_profile(named, options.vics_profile)]
        with path.open("rb") as raw, _as_utf8(raw) as stream:
            # ijson's C backend builds each record itself: no Python work per token.
            for media in ijson.items(stream, prefix, use_float=True):
                record += 1
                if isinstance(media, dict):
                    yield from _entries_of(media, record, options, mapping)
                else:
                    yield BadRecord(f"record {record}", "a Media record must be a JSON object")
    except ijson.JSONError as error:
        reason = str(error).splitlines()[0]
        yield BadRecord(f"record {record + 1}", f"malformed JSON: {reason}")


def _media_prefix(stream: BinaryIO) -> tuple[str, str | None]:
    """Where the Media records are, ``value.item`` (hash set) or under each Case, told by
    the first record's structure; and the profile the context URL names, if it names one
    before that record."""
    saw_envelope, named = False, None
    for prefix, event, value in ijson.parse(stream):
        if prefix == "" and event == "map_key" and value in _ENVELOPE_KEYS:
            saw_envelope = True
        elif prefix in ("@odata.context", "odata.metadata") and event == "string":
            found = _CONTEXT_PROFILE.search(value)
            named = found.group(1) if found else None
        elif prefix == "value.item" and event == "map_key" and value == "Media":
            return "value.item.Media.item", named
        elif prefix == "value.item" and event == "end_map":
            return "value.item", named
    if not saw_envelope:
        raise UsageError("not a VICS file: no 'value' array or OData metadata key at the top")
    return "value.item", named


def _profile(named: str | None, chosen: str | None) -> str:
    """The category mapping to read with: the one asked for, else the file's own."""
    if chosen is not None:
        return chosen
    if named is None or named.lower() in ("us", "default"):
        return "us"
    if named.lower() == "dhs":
        return "dhs"
    raise UsageError(
        f"this VICS file uses the {named} profile, whose category codes are not public here: "
        "it is not read with another profile's codes (that would change its grades). If its "
        "codes are known to be US or DHS ones, say so with --vics-profile us|dhs"
    )


def _as_utf8(raw: BinaryIO) -> BinaryIO:
    head = raw.read(4)
    raw.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        raw.seek(len(codecs.BOM_UTF8))
        return raw
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            raw.seek(len(bom))
            return _Reencoded(raw, encoding)
    return raw


class _Reencoded(io.RawIOBase):
    """A UTF-16 byte stream read back as UTF-8, a chunk at a time."""

    def __init__(self, raw: BinaryIO, encoding: str) -> None:
        self._text = codecs.getreader(encoding)(raw)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self._pending) < len(buffer):
            text = self._text.read(65536)
            if not text:
                break
            self._pending += text.encode("utf-8")
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def _entries_of(
    media: dict, record: int, options: ReadOptions, mapping: dict[int, str | None]
) -> Iterator[NewEntry | BadRecord]:
    try:
        category = _category(media.get("Category"), mapping)
        if category is None and options.category is not None:
            category = normalise_category(Scheme.VICS, options.category)
        victim = parse_bool(media.get("VictimIdentified"))
        _check_photodna(media.get("PhotoDNA"))
        metadata = _metadata(media.get("MediaMetadata"))
        disabled = bool(parse_bool(metadata.get(_META_DISABLED)))
        disabled_until = parse_timestamp(metadata.get(_META_DISABLED_UNTIL))
        media_id = media.get("MediaID")
        if _META_EXTERNAL_ID in metadata:  # our own export: the id it had, even none
            external_id = _text(metadata[_META_EXTERNAL_ID], _META_EXTERNAL_ID)
        else:
            external_id = _text(
                str(int(media_id)) if isinstance(media_id, int | float) else media_id, "MediaID"
            )
        series, notes = (
            _text(media.get("Series"), "Series"),
            _text(media.get("Comments"), "Comments"),
        )
        hashes = _hashes(media)
    except (ValueError, TypeError, AttributeError) as error:  # a writer's wrong types
        yield BadRecord(_place(media, record), str(error))
        return
    if not hashes:
        yield BadRecord(_place(media, record), "no MD5, SHA1 or alternative hash")
        return
    for signal, text in hashes:
        try:
            value = SIGNAL_TYPES[signal].parse(text)
        except UsageError as error:
            yield BadRecord(_place(media, record), str(error))
            continue
        yield NewEntry(
            signal=signal,
            value=value,
            category=category,
            series=series,
            victim_identified=victim,
            external_id=external_id,
            notes=notes,
            disabled=disabled,
            disabled_until=disabled_until,
            record=record,
        )


def _text(value: object, field: str) -> str | None:
    """A text field: strings and numbers as text, nothing as None, anything else refused."""
    if value is None or value == "":
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).replace("\x00", "") or None
    raise TypeError(f"{field} must be text, not {type(value).__name__}")


def _place(media: dict, record: int) -> str:
    return f"record {record} (MediaID {media.get('MediaID', '?')})"


def _metadata(items: object) -> dict:
    if not items:
        return {}
    return {str(item.get("Name")): item.get("Value") for item in items if isinstance(item, dict)}


def _category(raw: object, mapping: dict[int, str | None]) -> str | None:
    if raw is None or raw == "":
        return None
    try:
        code = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"VICS category {raw!r} is not an integer") from None
    if code not in mapping:
        raise ValueError(f"VICS category {code} is not defined in this profile")
    return mapping[code]


def _check_photodna(raw: object) -> None:
    if not raw:
        return
    try:
        size = len(base64.b64decode(str(raw), validate=True))
    except (binascii.Error, ValueError):
        raise ValueError("PhotoDNA is not valid base64") from None
    if size != _PHOTODNA_BYTES:
        raise ValueError(f"PhotoDNA decodes to {size} bytes, not {_PHOTODNA_BYTES}")


def _hashes(media: dict) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for key, signal in (("MD5", "md5"), ("SHA1", "sha1")):
        if media.get(key):
            found[signal] = _text(media[key], key) or ""
    alternatives = media.get("AlternativeHashes") or []
    if not isinstance(alternatives, list):
        raise TypeError(f"AlternativeHashes must be a list, not {type(alternatives).__name__}")
    for item in alternatives:
        if not isinstance(item, dict):
            continue
        signal = _ALTERNATIVE_NAMES.get(str(item.get("HashName", "")).strip().lower())
        if signal and item.get("HashValue") and signal not in found:
            found[signal] = str(item["HashValue"])
    return list(found.items())


def write(entries: Iterable[StoredEntry], out: TextIO) -> int:
    """A VICS 2.0 hash set: one Media per group of entries sharing id and attributes."""
    out.write('{"@odata.context": ' + json.dumps(CONTEXT_2_0) + ', "value": [\n')
    count = 0
    first = True
    for media in _group(entries):
        out.write(("" if first else ",\n") + json.dumps(media, ensure_ascii=False))
        first = False
        count += 1
    out.write("\n]}\n")
    return count


def _group(entries: Iterable[StoredEntry]) -> Iterator[dict]:
    current: dict | None = None
    key: tuple | None = None
    taken: set[str] = set()
    used_ids: set[int] = set()
    for entry in entries:
        entry_key = (
            entry.external_id,
            entry.category,
            entry.series,
            entry.victim_identified,
            entry.notes,
            entry.disabled,
            entry.disabled_until,
        )
        if current is None or entry_key != key or entry.signal in taken:
            if current is not None:
                yield current
            current, key, taken = _new_media(entry, used_ids), entry_key, set()
            used_ids.add(current["MediaID"])
        taken.add(entry.signal)
        text = SIGNAL_TYPES[entry.signal].to_text(entry.value)
        if entry.signal in ("md5", "sha1"):
            current[entry.signal.upper()] = text.upper()
        else:
            current.setdefault("AlternativeHashes", []).append(
                {"HashName": entry.signal.upper(), "HashValue": text}
            )
    if current is not None:
        yield current


def _new_media(entry: StoredEntry, used_ids: set[int]) -> dict:
    """A Media record; MediaID is the external id when that is a free integer."""
    metadata = []
    external = entry.external_id
    if external is not None and external.isdigit() and int(external) not in used_ids:
        media_id = int(external)
    else:
        # VICS needs a MediaID; record that the entry's own id was different (or absent).
        media_id = max(used_ids, default=0) + 1
        metadata.append({"Name": _META_EXTERNAL_ID, "Value": external})
    media: dict = {"MediaID": media_id, "Category": int(entry.category) if entry.category else None}
    if entry.series:
        media["Series"] = entry.series
    if entry.victim_identified is not None:
        media["VictimIdentified"] = str(entry.victim_identified).lower()
    if entry.notes:
        media["Comments"] = entry.notes
    if entry.disabled:
        metadata.append({"Name": _META_DISABLED, "Value": "true"})
        if entry.disabled_until:
            metadata.append(
                {"Name": _META_DISABLED_UNTIL, "Value": entry.disabled_until.isoformat()}
            )
    if metadata:
        media["MediaMetadata"] = metadata
    return media

"""The ``safeguard hash`` record: JSON Lines (default) or CSV, one record per file.

The keys and their order are a contract other tools parse; change them only with
a new major version. ``pdq_dihedral`` is added only when dihedral variants were
asked for, ``vpdq`` only when videos were hashed with vPDQ: in JSON Lines a list of
``[frame_number, quality, pdq_hex, timestamp]``, one per hashed frame; in CSV one
cell of the reference tool's lines (``frame_number,quality,pdq_hex,timestamp``)
joined by ``;``. Either converts to the reference's one-file-per-video text as is.
"""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from safeguard.signals import DIHEDRAL_NAMES, PDQ, SIGNAL_TYPES, VPDQ, IndexKind, RasterSignal
from safeguard.signals.extract import FileHashes
from safeguard.sources.files import readable_name

# Every signal of the registry with a value per file, in registry order; vPDQ (a list of
# frames, asked for with --vpdq) is added after these when asked for.
RECORD_FIELDS = (
    "path",
    "size",
    "type",
    *(
        f
        for s in SIGNAL_TYPES.values()
        if s.index is not IndexKind.FRAME_BAG
        for f in s.record_fields
    ),
    "width",
    "height",
    "error",
)
DIHEDRAL_FIELD = "pdq_dihedral"


def to_record(hashes: FileHashes, *, dihedral: bool = False, vpdq: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {
        "path": readable_name(hashes.path),
        "size": hashes.size,
        "type": hashes.media_type.mime if hashes.media_type else None,
    }
    for signal in SIGNAL_TYPES.values():
        if signal.index is IndexKind.FRAME_BAG:
            continue
        value = hashes.values.get(signal.name)
        record[signal.name] = signal.to_text(value) if value is not None else None
        if isinstance(signal, RasterSignal):
            found = hashes.perceptual.get(signal.name)
            record[f"{signal.name}_quality"] = found.quality if found else None
    pdq = hashes.pdq
    record["width"] = hashes.width
    record["height"] = hashes.height
    record["error"] = hashes.error
    if dihedral:
        variants = pdq.dihedral if pdq and pdq.dihedral else None
        record[DIHEDRAL_FIELD] = (
            {name: PDQ.to_text(variants[name]) for name in DIHEDRAL_NAMES} if variants else None
        )
    if vpdq:
        value = hashes.values.get(VPDQ.name)
        record[VPDQ.name] = (
            [[f.number, f.quality, f.pdq.hex(), round(f.timestamp, 3)] for f in VPDQ.decode(value)]
            if value is not None
            else None
        )
    return record


class JsonLinesWriter:
    def __init__(self, out: TextIO, *, dihedral: bool = False, vpdq: bool = False) -> None:
        self._out = out
        self._dihedral = dihedral
        self._vpdq = vpdq

    def write(self, hashes: FileHashes) -> None:
        record = to_record(hashes, dihedral=self._dihedral, vpdq=self._vpdq)
        self._out.write(json.dumps(record, ensure_ascii=False) + "\n")


class CsvWriter:
    """Nulls become empty cells; dihedral variants become one column each; a video's vPDQ
    frames one cell."""

    def __init__(self, out: TextIO, *, dihedral: bool = False, vpdq: bool = False) -> None:
        self._dihedral = dihedral
        self._vpdq = vpdq
        columns = list(RECORD_FIELDS)
        if dihedral:
            columns += [f"pdq_{name}" for name in DIHEDRAL_NAMES]
        if vpdq:
            columns.append(VPDQ.name)
        self._writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        self._writer.writeheader()

    def write(self, hashes: FileHashes) -> None:
        record = to_record(hashes, dihedral=self._dihedral)
        if self._vpdq:
            value = hashes.values.get(VPDQ.name)
            record[VPDQ.name] = VPDQ.to_text(value) if value else None
        variants = record.pop(DIHEDRAL_FIELD, None) or {}
        record.update({f"pdq_{name}": value for name, value in variants.items()})
        self._writer.writerow(
            {key: "" if value is None else value for key, value in record.items()}
        )


WRITERS = {"jsonl": JsonLinesWriter, "csv": CsvWriter}

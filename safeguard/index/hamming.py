"""A signal's binary hashes in the store, searchable within a radius, following the store.

One index per Hamming-searched signal: PDQ entries, and the frames of vPDQ entries
(each frame found by its PDQ hash, its id the entry's, so a search names the
videos worth comparing in full), and any other fixed-length binary hash up to 256
bits. A shorter hash is padded with zero bits on both sides of every comparison,
which leaves each distance exactly as it was; the multi-index layout is tuned for
256 informative bits, so such a hash is searched exactly, but with fewer of the
multi-index's savings.

A large immutable multi-index (built once, saved next to the store, memory-mapped
on open) plus a small tail of hashes written since, scanned directly. Every
search first asks the store for entries whose revision is newer than the one the
index has seen, so an import or a new entry is matchable by the very next query
(no rebuild, no reload by every worker). When the tail grows past a fraction of
the main index, the two are merged by a rebuild and saved.

The index knows only ids and hashes. Whether an entry or its list is disabled,
deleted, or has its own threshold is decided by the store when candidates are
resolved, so disabling needs no index work at all and stale ids simply drop out.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from safeguard.index.mih import MultiIndex, as_words, scan
from safeguard.store import Store

CODE_BYTES = 32
_EMPTY_CODES = np.empty((0, CODE_BYTES), np.uint8)
PDQ_SIGNAL = "pdq"


def _codes(values: Sequence[bytes]) -> np.ndarray:
    """(N, 32) uint8 codes, each value padded with zero bits to 256."""
    if any(len(value) > CODE_BYTES for value in values):
        raise ValueError(f"a Hamming index holds codes of at most {CODE_BYTES * 8} bits")
    joined = b"".join(value.ljust(CODE_BYTES, b"\0") for value in values)
    return np.frombuffer(joined, np.uint8).reshape(-1, CODE_BYTES)


def _empty_tail() -> tuple[np.ndarray, np.ndarray]:
    return np.empty((0, 4), np.uint64), np.empty(0, np.int64)


def default_directory(store: Store, signal: str = PDQ_SIGNAL) -> Path:
    """``$SAFEGUARD_INDEX_DIR``, else ``<db file>.index`` for SQLite, else a per-URL cache
    dir; another signal's index beside PDQ's, its name suffixed (``.index-vpdq``)."""
    suffix = "" if signal == PDQ_SIGNAL else f"-{signal}"
    configured = os.environ.get("SAFEGUARD_INDEX_DIR")
    if configured:
        return Path(configured + suffix)
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(f"{url.database}.index{suffix}")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return Path.home() / ".cache" / "safeguard" / f"index-{digest}{suffix}"


class HammingIndex:
    def __init__(
        self,
        store: Store,
        directory: Path | None = None,
        *,
        signal: str = PDQ_SIGNAL,
        merge_fraction: float = 0.1,
        merge_minimum: int = 200_000,
        max_staleness: float = 0.0,
    ) -> None:
        self.store = store
        self.signal = signal
        self.directory = directory if directory is not None else default_directory(store, signal)
        self.merge_fraction = merge_fraction
        self.merge_minimum = merge_minimum
        self.max_staleness = max_staleness  # seconds a search may run on an unrefreshed index
        self.watermark = 0
        self.refreshed_at = 0.0
        # The main index and the tail's codes and ids, swapped as one tuple: a
        # search in another thread (the service hashes uploads in threads) never
        # sees a new part beside an old one.
        self._parts = (MultiIndex.build(_EMPTY_CODES, np.empty(0, np.int64)), *_empty_tail())
        self._lock = threading.RLock()  # one refresh or rebuild at a time
        self._open()

    def __len__(self) -> int:
        return len(self.main) + self.tail_size

    @property
    def main(self) -> MultiIndex:
        return self._parts[0]

    @property
    def tail_size(self) -> int:
        return len(self._parts[2])

    def _open(self) -> None:
        store_id, revision = self.store.identity()
        try:
            main, manifest = MultiIndex.load(self.directory)
        except (OSError, ValueError, KeyError):
            main, manifest = None, {}
        if (
            main is not None
            and manifest.get("store_id") == store_id
            and manifest.get("watermark", 1 << 62) <= revision
        ):
            self._parts = (main, *_empty_tail())
            self.watermark = int(manifest["watermark"])
            self.refresh()
        else:
            self.rebuild()

    def refresh(self) -> int:
        """Take in entries written since the last look; returns how many were new."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> int:
        _, revision = self.store.identity()
        added = 0
        if revision > self.watermark:
            batches = list(self.store.changed_codes(self.signal, self.watermark))
            pairs = [pair for batch in batches for pair in batch]
            if pairs:
                ids = np.fromiter((i for i, _ in pairs), np.int64, len(pairs))
                codes = as_words(_codes([v for _, v in pairs]))
                main, tail_codes, tail_ids = self._parts
                self._parts = (
                    main,
                    np.concatenate((tail_codes, codes)),
                    np.concatenate((tail_ids, ids)),
                )
                added = len(pairs)
            self.watermark = revision
        self.refreshed_at = time.time()
        if self.tail_size > max(self.merge_minimum, self.merge_fraction * len(self.main)):
            self.rebuild()
        return added

    def refresh_if_stale(self) -> None:
        """Refresh unless the last look at the store is younger than ``max_staleness``."""
        if time.time() - self.refreshed_at >= self.max_staleness:
            self.refresh()

    def rebuild(self) -> None:
        """Build the main index afresh from every code of the signal in the store, and save it."""
        with self._lock:
            self._rebuild()

    def _rebuild(self) -> None:
        _, revision = self.store.identity()
        ids, codes = [], []
        for batch in self.store.changed_codes(self.signal, 0):
            ids.append(np.fromiter((i for i, _ in batch), np.int64, len(batch)))
            codes.append(_codes([v for _, v in batch]))
        all_ids = np.concatenate(ids) if ids else np.empty(0, np.int64)
        all_codes = np.concatenate(codes) if codes else _EMPTY_CODES
        self._parts = (MultiIndex.build(all_codes, all_ids), *_empty_tail())
        self.watermark = revision
        self.refreshed_at = time.time()
        self._save()
        # Entries written while we read are picked up as a tail, never lost.
        self.refresh()

    def _save(self) -> None:
        store_id, _ = self.store.identity()
        parent = self.directory.parent
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".index-", dir=parent))
        manifest = {
            "store_id": store_id,
            "watermark": self.watermark,
            "built_at": datetime.now(UTC).isoformat(),
        }
        self.main.save(staging, manifest)
        previous = parent / f".index-old-{os.getpid()}"
        try:
            if self.directory.exists():
                self.directory.rename(previous)
            staging.rename(self.directory)
        except OSError:
            # Another process (a second service worker) saved its rebuild at the same
            # moment: theirs stays, ours is still in memory, and nothing is lost.
            shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(previous, ignore_errors=True)

    def search(self, values: Sequence[bytes], radius: int) -> dict[int, int]:
        """Entry id -> smallest distance to any of ``values`` (e.g. the 8 dihedral variants)."""
        best: dict[int, int] = {}
        if not values:
            return best
        self.refresh_if_stale()
        queries = as_words(_codes(values))
        main, tail_codes, tail_ids = self._parts
        for query in queries:
            for source in (
                main.search(query, radius),
                scan(tail_codes, tail_ids, query, radius),
            ):
                for entry_id, distance in zip(*source, strict=True):
                    key = int(entry_id)
                    if distance < best.get(key, radius + 1):
                        best[key] = int(distance)
        return best

"""The geometric variants enrolled with an entry's picture (see media.variants): written
beside the entry, found by the index as the entry itself, read back when a candidate is
measured. Mixed into :class:`safeguard.store.lists.Store`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, select, update

from safeguard.signals import PDQ
from safeguard.store.audit import Audit, audited
from safeguard.store.database import next_revision
from safeguard.store.schema import entries, entry_variants, hash_lists

_SLICE = 500  # entries per query


class EntryVariants:
    engine: Engine

    def enrol_variants(
        self,
        list_name: str,
        variants: Mapping[bytes, Mapping[str, bytes]],
        *,
        audit: Audit = None,
    ) -> int:
        """Give the list's PDQ entries (by value) these variants (name -> PDQ), replacing
        any they had, in one transaction; returns how many entries were given variants.
        The entries take a new revision, so every index takes the variants in."""
        with self.engine.begin() as connection:
            found = self._require_list(connection, list_name)  # type: ignore[attr-defined]
            revision = next_revision(connection)
            ids: dict[bytes, int] = {}
            values = list(variants)
            for start in range(0, len(values), _SLICE):
                ids |= {
                    bytes(value): entry_id
                    for entry_id, value in connection.execute(
                        select(entries.c.id, entries.c.value).where(
                            entries.c.list_id == found.id,
                            entries.c.signal == PDQ.name,
                            entries.c.value.in_(values[start : start + _SLICE]),
                        )
                    )
                }
            chosen = list(ids.values())
            for start in range(0, len(chosen), _SLICE):
                part = chosen[start : start + _SLICE]
                connection.execute(
                    delete(entry_variants).where(entry_variants.c.entry_id.in_(part))
                )
                connection.execute(
                    update(entries).where(entries.c.id.in_(part)).values(revision=revision)
                )
            rows = [
                {"entry_id": entry_id, "name": name, "value": variant}
                for value, entry_id in ids.items()
                for name, variant in variants[value].items()
            ]
            if rows:
                connection.execute(entry_variants.insert(), rows)
            connection.execute(
                update(hash_lists)
                .where(hash_lists.c.id == found.id)
                .values(updated_at=datetime.now(UTC), revision=revision)
            )
            audited(connection, audit, {"entries": len(ids), "variants": len(rows)})
            return len(ids)

    def entry_variants(self, entry_ids: Sequence[int]) -> dict[int, list[tuple[str, bytes]]]:
        """The enrolled variants (name, PDQ) of these entries; an entry without any is left out."""
        found: dict[int, list[tuple[str, bytes]]] = {}
        unique = list({int(i) for i in entry_ids})
        with self.engine.connect() as connection:
            for start in range(0, len(unique), _SLICE):
                for entry_id, name, value in connection.execute(
                    select(entry_variants.c.entry_id, entry_variants.c.name, entry_variants.c.value)
                    .where(entry_variants.c.entry_id.in_(unique[start : start + _SLICE]))
                    .order_by(entry_variants.c.id)
                ):
                    found.setdefault(entry_id, []).append((name, bytes(value)))
        return found

    def variant_counts(self) -> dict[int, int]:
        """List id -> how many of its entries hold enrolled variants."""
        query = (
            select(entries.c.list_id, func.count(func.distinct(entry_variants.c.entry_id)))
            .join(entries, entries.c.id == entry_variants.c.entry_id)
            .group_by(entries.c.list_id)
        )
        with self.engine.connect() as connection:
            return dict(connection.execute(query).all())

"""Options and helpers shared by the commands.

Kept light: the command line starts without loading Numba, dfVFS, Pillow or
FastAPI, which the commands import where they use them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import typer

from safeguard.errors import UsageError
from safeguard.store import ListKind, Store
from safeguard.store.audit import AuditEvent, AuditLog, cli_actor

# Square brackets are written \[...] so that Rich shows them instead of reading markup.
DB_OPTION = typer.Option(
    None,
    "--db",
    help="Store: a SQLite file or a postgresql:// URL "
    "\\[default: $SAFEGUARD_DB or ./safeguard.db].",
    show_default=False,
)
WORKERS_OPTION = typer.Option(
    None, "--workers", min=1, help="Processes to hash with \\[default: all cores]."
)


def open_store(db: str | None, *, create: bool = False) -> Store:
    """The store named by ``--db``; one that does not exist yet is refused unless ``create``."""
    return Store.open(db, create=create)


def found_paths(paths: list[str], *, recursive: bool):
    """The files named; a folder without ``--recursive`` is refused, never one blank record."""
    from safeguard.sources.files import expand_paths

    if not recursive:
        for path in paths:
            if os.path.isdir(path):
                raise UsageError(f"{path} is a folder: add --recursive (-r) to take its files")
    return list(expand_paths(paths, recursive=recursive))


def warn_without_alert_lists(store: Store) -> bool:
    """Say loudly, on stderr, when nothing can match; True when there is an alert list."""
    if any(lst.enabled and lst.kind is not ListKind.KNOWN_GOOD for lst in store.lists()):
        return True
    typer.secho(
        f"safeguard: WARNING: the store {store.location} holds no enabled alert list, so "
        "nothing can match. Check --db, or import lists with `safeguard lists import`.",
        err=True,
        fg="red",
    )
    return False


def audit_from_cli(store: Store, event: str, detail: dict) -> None:
    """Write what the command line did (a scan, a report) to the audit log, as its user."""
    AuditLog(store.engine).append([cli_event(event, detail)])


def cli_event(event: str, detail: dict) -> AuditEvent:
    actor, origin = cli_actor()
    return AuditEvent(actor, origin, event, detail)


VARIANTS_OPTION = typer.Option(
    "none",
    "--variants",
    help="Also match variants of each picture. query: views of it (borders, letterbox and "
    "caption bands cut away, turned upright, its quadrants); all: those, and the variants "
    "enrolled with known pictures (crops, cuts, rotations: lists enrol). A match only through "
    "a variant is labelled and goes to review unless its list says otherwise "
    "\\[default: none].",
)


def cli_audit(event: str, detail: dict | Callable[[Any], dict]):
    """The ``audit=`` of a store change made from the command line: chained with the change."""
    return lambda result: cli_event(event, detail(result) if callable(detail) else detail)

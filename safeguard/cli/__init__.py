"""The ``safeguard`` command: thin front doors over the library.

Command modules import their heavy machinery (Numba, dfVFS, Pillow, FastAPI)
inside the commands, so ``--help`` and the store commands start quickly.
"""

from __future__ import annotations

import os
import sys

import typer

from safeguard import __version__
from safeguard.cli import (
    audit,
    cases,
    demo,
    hash_files,
    keys,
    lists,
    match,
    report,
    review,
    scan,
    scan_batch,
    self_report,
    serve,
    users,
    webhooks,
)
from safeguard.cli.common import DB_OPTION, open_store
from safeguard.cli.failures import INTERRUPTED, explain

app = typer.Typer(
    name="safeguard",
    help="Find known abuse imagery by hash matching, without anyone having to look at it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(shown: bool) -> None:
    if shown:
        typer.echo(f"safeguard {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="On an error, show the full traceback instead of one line."
    ),
) -> None:
    """Find known abuse imagery by hash matching, without anyone having to look at it."""


@app.command("init")
def init_command(db: str = DB_OPTION) -> None:
    """Create a store (a SQLite file, or Safeguard's tables in a PostgreSQL database)."""
    from safeguard.store import StoreMissing

    try:
        open_store(db)
    except StoreMissing:
        store = open_store(db, create=True)
        typer.echo(f"created a store at {store.location}")
    else:
        typer.echo(f"a store is already there: {open_store(db).location} (nothing changed)")


app.command("hash")(hash_files.hash_command)
app.command("match")(match.match_command)
app.command("scan")(scan.scan_command)
app.command("scan-batch")(scan_batch.scan_batch_command)
app.command("rematch")(scan.rematch_command)
app.command("report")(report.report_command)
app.add_typer(cases.app, name="cases")
app.add_typer(lists.app, name="lists")
app.command("demo")(demo.demo_command)
app.command("serve")(serve.serve_command)
app.command("review")(review.review_command)
app.add_typer(keys.app, name="keys")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(audit.app, name="audit")
app.add_typer(users.app, name="users")
app.add_typer(self_report.app, name="self-report")


def main() -> None:
    """Run a command; whatever goes wrong ends as one line on stderr (see ``failures``)."""
    # Typer carries its own copy of Click: its exceptions, not click's, arrive here.
    from typer._click import exceptions as click

    debug = "--debug" in sys.argv[1:] or os.environ.get("SAFEGUARD_DEBUG") == "1"
    try:
        status = app(standalone_mode=False)
    except click.NoArgsIsHelpError as shown:
        shown.show()  # `safeguard` alone, or a group alone: its help
        status = 0
    except click.ClickException as error:  # a mistyped option or argument
        typer.echo(f"safeguard: {error.format_message()} (see --help)", err=True)
        status = error.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("safeguard: interrupted", err=True)
        status = INTERRUPTED
    except Exception as error:
        if debug:
            raise
        status, message = explain(error)
        typer.echo(f"safeguard: {message}", err=True)
    sys.exit(status if isinstance(status, int) else 0)

"""The ``safeguard`` command: thin front doors over the library."""

from __future__ import annotations

import sys

import typer

from safeguard.cli import audit, demo, hash_files, keys, lists, match, scan, serve, webhooks
from safeguard.errors import UsageError

app = typer.Typer(
    name="safeguard",
    help="Find known abuse imagery by hash matching, without anyone having to look at it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("hash")(hash_files.hash_command)
app.command("match")(match.match_command)
app.command("scan")(scan.scan_command)
app.command("report")(scan.report_command)
app.add_typer(lists.app, name="lists")
app.command("demo")(demo.demo_command)
app.command("serve")(serve.serve_command)
app.add_typer(keys.app, name="keys")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(audit.app, name="audit")

USAGE_EXIT = 2


def main() -> None:
    try:
        app()
    except UsageError as error:
        print(f"safeguard: {error}", file=sys.stderr)
        sys.exit(USAGE_EXIT)

"""``safeguard users``: accounts of the review workspace."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from safeguard.cli.common import DB_OPTION, cli_audit, open_store
from safeguard.store.reviewers import Reviewers, Role

app = typer.Typer(
    help="Accounts of the review workspace: viewers, reviewers, supervisors.", no_args_is_help=True
)


@app.command("create")
def create_command(
    name: str = typer.Option(..., "--name", help="The reviewer's login name."),
    role: Role = typer.Option(
        ..., "--role", help="viewer: counts only; reviewer: grades; supervisor: also confirms."
    ),
    cases: list[str] = typer.Option(
        None, "--case", help="A case the account may open (repeatable) \\[default: every case]."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input, not a prompt."
    ),
    db: str = DB_OPTION,
) -> None:
    """Create an account; its password is kept only as an Argon2id hash."""
    store = open_store(db)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    created = Reviewers(store.engine).create(
        name,
        role,
        password,
        cases_allowed=tuple(cases or ()),
        audit=cli_audit("reviewer.create", lambda reviewer: reviewer.to_json()),
    )
    reach = ", ".join(created.cases) if created.cases else "every case"
    typer.echo(f"safeguard: {created.role} {created.name!r} created ({reach})", err=True)


@app.command("ls")
def ls_command(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per account."),
    db: str = DB_OPTION,
) -> None:
    """Accounts with their roles, cases and locks (never the password hashes)."""
    accounts = Reviewers(open_store(db).engine).all()
    if as_json:
        for account in accounts:
            typer.echo(json.dumps(account.to_json()))
        return
    table = Table()
    for column in ("name", "role", "cases", "locked until"):
        table.add_column(column)
    for account in accounts:
        locked = account.locked_until.isoformat()[:19] if account.locked_until else "-"
        table.add_row(account.name, account.role, ", ".join(account.cases) or "all", locked)
    Console().print(table)


@app.command("unlock")
def unlock_command(name: str = typer.Argument(..., help="The account."), db: str = DB_OPTION):
    """Lift the lock that repeated failed logins put on an account."""
    Reviewers(open_store(db).engine).unlock(
        name, audit=cli_audit("reviewer.unlock", lambda reviewer: reviewer.to_json())
    )
    typer.echo(f"safeguard: {name!r} unlocked", err=True)
